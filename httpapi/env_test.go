package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/mail/smtptest"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

const (
	testIssuer   = "https://ref.supabase.co/auth/v1"
	testAudience = "authenticated"
	testProvider = "supabase"
)

// fakeIdP is a real HTTP server publishing a real JWKS, with keys that
// sign real tokens. It can rotate keys and go down.
type fakeIdP struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jwk.Key // private; keys[0] signs
	down    bool
	maxAge  int // Cache-Control max-age sent; 0 sends none
	fetches atomic.Int64
}

func newFakeIdP(t testing.TB) *fakeIdP {
	f := &fakeIdP{t: t}
	f.rotate()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		set := jwk.NewSet()
		for _, k := range f.keys {
			pub, err := k.PublicKey()
			if err != nil {
				t.Errorf("public key: %v", err)
			}
			_ = set.AddKey(pub)
		}
		if f.maxAge > 0 {
			w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", f.maxAge))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// rotate makes a new ES256 signing key and keeps the old ones published.
func (f *fakeIdP) rotate() jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, fmt.Sprintf("kid-%d", time.Now().UnixNano()))
	_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
	f.mu.Lock()
	f.keys = append([]jwk.Key{k}, f.keys...)
	f.mu.Unlock()
	return k
}

func (f *fakeIdP) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// sign signs claims with the current key; claims override the defaults.
func (f *fakeIdP) sign(sub string, claims map[string]any) string {
	f.mu.Lock()
	k := f.keys[0]
	f.mu.Unlock()
	return signWith(f.t, k, jwa.ES256, sub, claims)
}

// testAuthTime is the amr timestamp of test tokens that do not set one:
// fixed, so that two tokens of one sign-in carry the same authentication.
var testAuthTime = time.Now().Add(-time.Minute).Unix()

func signWith(t testing.TB, key any, alg jwa.SignatureAlgorithm, sub string, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(testIssuer).Audience([]string{testAudience}).Subject(sub).
		IssuedAt(now).Expiration(now.Add(time.Hour)).
		Claim("email", "").Claim("phone", "").
		Claim("app_metadata", map[string]any{"provider": "email"}).
		Claim("amr", []map[string]any{{"method": "password", "timestamp": testAuthTime}})
	for k, v := range claims {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

// adminAPI is a local stand-in for the IdP's admin API: it records hard
// deletes and fails the first failFirst calls.
type adminAPI struct {
	srv       *httptest.Server
	mu        sync.Mutex
	failFirst int
	calls     []string // "DELETE /admin/users/<sub> <status>"
	deleted   []string
}

func newAdminAPI(t testing.TB, key string) *adminAPI {
	a := &adminAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		status := http.StatusOK
		switch {
		case r.Header.Get("Authorization") != "Bearer "+key || r.Header.Get("apikey") != key:
			status = http.StatusUnauthorized
		case r.Method != http.MethodDelete || !strings.HasPrefix(r.URL.Path, "/admin/users/"):
			status = http.StatusNotFound
		case a.failFirst > 0:
			a.failFirst--
			status = http.StatusInternalServerError
		default:
			a.deleted = append(a.deleted, strings.TrimPrefix(r.URL.Path, "/admin/users/"))
		}
		a.calls = append(a.calls, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, status))
		w.WriteHeader(status)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// env is a userd wired to a fresh database, a fake IdP and its admin API,
// served over real HTTP.
type env struct {
	idpCfg    idp.Config
	keys      *signing.KeySet
	cursorKey []byte
	t         testing.TB
	pool      *pgxpool.Pool
	db        *service.DB
	idp       *fakeIdP
	admin     *adminAPI
	outbox    *service.Outbox
	srv       *httptest.Server
	client    *http.Client

	accounts  *service.Accounts // local accounts; tunables may be changed before the first request
	gate      *password.Gate    // hashing bound of the next instance; nil: the default
	trusted   []netip.Prefix    // trusted proxies of the next instance
	dbTimeout time.Duration     // USERD_DB_TIMEOUT of the next instance; 0: none
	issuer    string            // USERD_ISSUER and USERD_PUBLIC_URL of the next instance; "": localIssuer
	ownIssuer bool              // reopen sets issuer to the new instance's own address
	cors      []string          // USERD_CORS_ORIGINS of the next instance
	// noPasswordGrant turns the password grant off in the next instance
	// (USERD_PASSWORD_GRANT=off).
	noPasswordGrant bool
	log             *slog.Logger      // the logger of the next instance; nil: text to nowhere
	mail            *smtptest.Server  // where the outbox delivers mail
	hooks           *service.Webhooks // webhook delivery of the last instance (loopback allowed)
}

type envOption func(*idp.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, idp: newFakeIdP(t), admin: newAdminAPI(t, "service-key")}
	e.db = openCachedDB(t, pgtest.NewURL(t))
	e.pool = e.db.Pool
	e.idpCfg = idp.Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: e.idp.srv.URL + "/.well-known/jwks.json"}
	for _, o := range opts {
		o(&e.idpCfg)
	}
	keys, err := signing.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e.keys = keys
	e.cursorKey = make([]byte, 32)
	_, _ = rand.Read(e.cursorKey)
	e.mail = smtptest.NewServer(t)
	var h http.Handler
	h, e.accounts, e.outbox = e.instance(e.db)
	e.srv = serve(t, h)
	e.client = e.srv.Client()
	return e
}

// serve serves h over real HTTP until the test ends, every exchange
// checked against openapi.json (see validated).
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(validated(t, h))
	t.Cleanup(srv.Close)
	return srv
}

// instance wires a whole userd over db, sharing the environment's IdP,
// signing keys and cursor key, as a second process on the same database
// and configuration would.
func (e *env) instance(db *service.DB) (http.Handler, *service.Accounts, *service.Outbox) {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := idp.NewVerifier(ctx, e.idpCfg)
	if err != nil {
		t.Fatal(err)
	}
	log := e.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	issuer := cmp.Or(e.issuer, localIssuer)
	accounts, local := newTestAccounts(t, db, e.keys, e.gate, issuer)
	auth := service.NewAuth(db, service.AuthConfig{External: v, ExternalIssuer: testIssuer, Provider: testProvider, DefaultRegion: "IN", Local: local, LocalIssuer: issuer, Cache: service.DefaultCacheConfig(), Accounts: accounts})
	users := service.NewUsers(db, "IN", testProvider)
	users.UseAccounts(accounts)
	outbox := service.NewOutbox(db, idp.NewAdminClient(e.admin.srv.URL, "service-key"), newTestMailer(t, e.mail), log)
	outbox.Resets = accounts
	admin := service.NewAdmin(db, "IN", e.cursorKey)
	orgs := service.NewOrgs(db, "http://userd.test", e.cursorKey)
	social := service.NewSocial(db, e.cursorKey)
	e.hooks = service.NewWebhooks(db, service.WebhookConfig{AllowPrivate: true, Poll: 20 * time.Millisecond, Schedule: []time.Duration{20 * time.Millisecond}}, e.cursorKey, log)
	h := httpapi.New(httpapi.Deps{Log: log, Auth: auth, Users: users, Accounts: accounts, Admin: admin, Orgs: orgs, Social: social, Avatars: service.NewAvatars(db), Webhooks: e.hooks, OAuth: service.NewOAuth(db, accounts), Ready: db.Ready(migrate.Check), PoolStats: db.Stats, PublicURL: issuer, TrustedProxies: e.trusted, DBTimeout: e.dbTimeout, CORSOrigins: e.cors, NoPasswordGrant: e.noPasswordGrant})
	return h, accounts, outbox
}

// openCachedDB opens a pool on dbURL as serve does, with the principal
// cache and its change listener (caches are on in tests as in
// production), and waits until the listener listens. Under make
// test-scale it goes through the pooler, listens on a direct connection
// and reads from the replica (scaleOptions).
func openCachedDB(t testing.TB, dbURL string) *service.DB {
	t.Helper()
	return openCachedDBWith(t, dbURL, service.DefaultCacheConfig())
}

// openCachedDBWith is openCachedDB with the caches configured by cache.
func openCachedDBWith(t testing.TB, dbURL string, cache service.CacheConfig) *service.DB {
	t.Helper()
	opts := scaleOptions(t, dbURL)
	opts.Cache = cache
	return openDBWithOptions(t, dbURL, opts)
}

// openDBWithOptions opens dbURL with opts until the test ends, once its
// change listener listens.
func openDBWithOptions(t testing.TB, dbURL string, opts service.DBOptions) *service.DB {
	t.Helper()
	db, err := service.OpenDBWith(context.Background(), pgtest.PoolConfig(t, dbURL), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	waitFor(t, "the change listener to listen", db.PrincipalCacheOnline)
	return db
}

// otherInstance serves another userd on e's database, opened with opts,
// as a second process would.
func (e *env) otherInstance(opts service.DBOptions) *env {
	e.t.Helper()
	other := *e
	other.db = openDBWithOptions(e.t, e.pool.Config().ConnString(), opts)
	other.pool = other.db.Pool
	var h http.Handler
	h, other.accounts, other.outbox = e.instance(other.db)
	other.srv = serve(e.t, h)
	other.client = other.srv.Client()
	return &other
}

// scaleOptions are the DB options of serve for a test database: the
// principal cache, and under make test-scale what USERD_DB_POOLER=transaction,
// USERD_LISTEN_DATABASE_URL and USERD_DATABASE_REPLICA_URL set.
func scaleOptions(t testing.TB, dbURL string) service.DBOptions {
	t.Helper()
	opts := service.DBOptions{Cache: service.DefaultCacheConfig(), Pooler: pgtest.Pooled(), Timeout: 5 * time.Second}
	if opts.Pooler {
		c, err := dburl.ConnConfig(pgtest.DirectURL(t, dbURL))
		if err != nil {
			t.Fatal(err)
		}
		opts.Listen = c
	}
	if r := pgtest.Replica(dbURL); r != "" {
		// The replica is reached directly, not through the pooler.
		c, err := dburl.PoolConfig(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		opts.Replica = c
	}
	return opts
}

// waitFor polls cond every millisecond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request; body is JSON-encoded unless it is a []byte or string.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// expect fails the test unless r has the status and, for errors, the code.
func expect(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%s), want %d", r.status, r.body, status)
	}
	if code != "" {
		if got := r.json(t)["code"]; got != code {
			t.Fatalf("got code %v, want %s (%s)", got, code, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("got Content-Type %q, want application/problem+json", ct)
		}
	}
}

// signIn makes the IdP user sub known to userd and returns its token and id.
func (e *env) signIn(sub string, claims map[string]any) (string, int64) {
	e.t.Helper()
	tok := e.idp.sign(sub, claims)
	r := e.do("GET", "/api/v1/users/me", tok, nil)
	expect(e.t, r, http.StatusOK, "")
	return tok, int64(r.json(e.t)["id"].(float64))
}

// userWithRole signs a new user in and gives them role.
func (e *env) userWithRole(sub, role string) (string, int64) {
	e.t.Helper()
	tok, id := e.signIn(sub, nil)
	artist := "NULL"
	if role == "artist" {
		artist = "1"
	}
	if _, err := e.pool.Exec(context.Background(), "UPDATE users SET role = $1, artist_id = "+artist+" WHERE id = $2", role, id); err != nil {
		e.t.Fatal(err)
	}
	return tok, id
}
