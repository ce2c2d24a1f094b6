package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

// logBuffer collects JSON log lines from concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the records whose msg is msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		if l == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// refusalServer serves e's database and IdP with a logger at logLevel and
// refused tokens logged at refusedAt.
func refusalServer(t *testing.T, e *env, logLevel, refusedAt slog.Level) (*httptest.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: logLevel}))
	v, err := idp.NewVerifier(context.Background(), e.idpCfg)
	if err != nil {
		t.Fatal(err)
	}
	accounts, local := newTestAccounts(t, e.db, e.keys, e.gate, localIssuer)
	h := httpapi.New(httpapi.Deps{
		Log: log, Accounts: accounts, Users: service.NewUsers(e.db, "IN", testProvider),
		Auth: service.NewAuth(e.db, service.AuthConfig{
			External: v, ExternalIssuer: testIssuer, Provider: testProvider, DefaultRegion: "IN", Local: local, LocalIssuer: localIssuer,
		}),
		RefusedTokenLevel: refusedAt,
	})
	return serve(t, h), logs
}

func getMe(t *testing.T, srv *httptest.Server, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/users/me", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestRefusedTokenReasonLogged: every refused bearer token is a bare 401,
// and the log says why (issuer, audience, expiry, signature, unknown kid),
// at info by default (dev) with the request id, and never the token.
func TestRefusedTokenReasonLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv, logs := refusalServer(t, e, slog.LevelInfo, slog.LevelInfo)

	good := e.idp.sign("refused-1", nil)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[10] ^= 0x01 // still base64url, no longer the signature
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	strangerKey, _ := jwk.FromRaw(stranger)
	_ = strangerKey.Set(jwk.KeyIDKey, "kid-nobody-published")
	_ = strangerKey.Set(jwk.AlgorithmKey, jwa.ES256)

	cases := []struct{ name, token, reason string }{
		{"no token", "", "no Authorization: Bearer header"},
		{"not a JWT", "not-a-jwt", "not a JWT with an iss claim"},
		{"issuer", e.idp.sign("refused-1", map[string]any{"iss": "https://elsewhere.example"}),
			`issuer "https://elsewhere.example" is not one this server trusts ("` + localIssuer + `", "` + testIssuer + `")`},
		{"audience", e.idp.sign("refused-1", map[string]any{"aud": "someone-else"}), "aud"},
		{"expiry", e.idp.sign("refused-1", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), "exp"},
		{"signature", parts[0] + "." + parts[1] + "." + string(sig), "verify"},
		{"unknown kid", signWith(t, strangerKey, jwa.ES256, "refused-1", nil), "kid"},
		{"local expiry", localToken(t, e, -time.Minute), "exp"},
	}
	for _, c := range cases {
		res := getMe(t, srv, c.token)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", c.name, res.StatusCode)
			continue
		}
		id := res.Header.Get("X-Request-Id")
		var found map[string]any
		for _, rec := range logs.lines(t, "token refused") {
			if rec["request_id"] == id {
				found = rec
			}
		}
		if found == nil {
			t.Errorf("%s: no \"token refused\" line with request_id %s", c.name, id)
			continue
		}
		reason, _ := found["reason"].(string)
		if found["level"] != "INFO" || !strings.Contains(reason, c.reason) {
			t.Errorf("%s: got level %v reason %q, want INFO and a reason holding %q", c.name, found["level"], reason, c.reason)
		}
		if c.token != "" && len(c.token) > 20 && strings.Contains(reason, c.token[len(c.token)-20:]) {
			t.Errorf("%s: the reason %q quotes the token", c.name, reason)
		}
	}
	if got := getMe(t, srv, good); got.StatusCode != http.StatusOK {
		t.Fatalf("the untampered token: got %d, want 200", got.StatusCode)
	}
	if n := len(logs.lines(t, "token refused")); n != len(cases) {
		t.Fatalf("got %d \"token refused\" lines, want %d (one per refusal, none for the good token)", n, len(cases))
	}
}

// localToken signs an access token of userd's own that expired ago ago.
func localToken(t *testing.T, e *env, ago time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := e.keys.Sign(signing.Claims{
		Issuer: localIssuer, Audience: localAudience, Subject: "1", IssuedAt: now.Add(ago - time.Hour), ExpiresAt: now.Add(ago),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRefusedTokenProdLevel: at debug (prod), the reason stays out of an
// info log and shows in a debug one.
func TestRefusedTokenProdLevel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	quiet, quietLogs := refusalServer(t, e, slog.LevelInfo, slog.LevelDebug)
	loud, loudLogs := refusalServer(t, e, slog.LevelDebug, slog.LevelDebug)
	bad := e.idp.sign("refused-2", map[string]any{"aud": "someone-else"})
	if getMe(t, quiet, bad).StatusCode != http.StatusUnauthorized || getMe(t, loud, bad).StatusCode != http.StatusUnauthorized {
		t.Fatal("want 401 from both")
	}
	if got := quietLogs.lines(t, "token refused"); len(got) != 0 {
		t.Errorf("info log, refusals at debug: got %v, want no line", got)
	}
	if got := loudLogs.lines(t, "token refused"); len(got) != 1 || got[0]["level"] != "DEBUG" {
		t.Errorf("debug log, refusals at debug: got %v, want one DEBUG line", got)
	}
}
