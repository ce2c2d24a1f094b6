// Package idp verifies bearer tokens issued by an external identity
// provider (Supabase Auth, or any OIDC-style issuer) against its JWKS, and
// maps their claims.
package idp

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Errors returned by Verify.
var (
	// ErrInvalidToken: the token is malformed, expired, for someone else,
	// or not signed by the provider.
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable: the provider's keys cannot be fetched and no cached
	// key can decide.
	ErrUnavailable = errors.New("identity provider keys unavailable")
)

// Config says which tokens a Verifier accepts.
type Config struct {
	Issuer    string
	Audience  string
	JWKSURL   string // empty: only the HS256 secret is used
	JWTSecret string // legacy HS256 secret; empty: HS256 is refused
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30 s).
	Leeway time.Duration
	// DefaultMaxAge is how long keys are kept when the JWKS response sends
	// no Cache-Control max-age or Expires (default 1 h).
	DefaultMaxAge time.Duration
	// UnknownKIDRefresh is the least time between two refetches forced by
	// an unknown kid (default 1 min).
	UnknownKIDRefresh time.Duration
	// OutageRefresh is the least time between two fetches while no key
	// could ever be fetched (default 5 s, the Retry-After of the 503).
	OutageRefresh time.Duration
	// HTTPClient fetches the JWKS (default: 5 s timeout).
	HTTPClient *http.Client
}

// Verifier checks the provider's tokens. It is safe for concurrent use.
type Verifier struct {
	cfg   Config
	cache *jwk.Cache

	mu          sync.Mutex
	lastForced  time.Time
	forcedError error
	lastOutage  time.Time // last fetch tried while no keys were cached

	// The key generation (KeyGeneration): each distinct key set (by
	// fingerprint) gets a number; current is the number of the set the
	// last fetch brought, set as the fetch parses it, before jwk.Cache
	// stores it.
	current atomic.Uint64
	genMu   sync.Mutex
	gens    map[string]uint64 // fingerprint → generation
	lastSet jwk.Set           // the set generation saw last, and its number
	lastGen uint64
}

// NewVerifier starts a JWKS cache for cfg.JWKSURL, living as long as ctx.
// It does not fetch the keys yet: a provider down at start makes the first
// requests fail with ErrUnavailable, not the process.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("idp: issuer and audience are required")
	}
	if cfg.JWKSURL == "" && cfg.JWTSecret == "" {
		return nil, errors.New("idp: a JWKS URL or an HS256 secret is required")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.DefaultMaxAge == 0 {
		cfg.DefaultMaxAge = time.Hour
	}
	if cfg.UnknownKIDRefresh == 0 {
		cfg.UnknownKIDRefresh = time.Minute
	}
	if cfg.OutageRefresh == 0 {
		cfg.OutageRefresh = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	v := &Verifier{cfg: cfg, gens: map[string]uint64{}}
	if cfg.JWKSURL != "" {
		client := &http.Client{
			Timeout:   cfg.HTTPClient.Timeout,
			Transport: defaultMaxAge{next: transportOf(cfg.HTTPClient), maxAge: cfg.DefaultMaxAge},
		}
		v.cache = jwk.NewCache(ctx)
		// The minimum bounds a max-age the provider sends; without one the
		// transport adds DefaultMaxAge.
		fetched := jwk.PostFetchFunc(func(_ string, set jwk.Set) (jwk.Set, error) {
			v.current.Store(v.generation(set))
			return set, nil
		})
		if err := v.cache.Register(cfg.JWKSURL, jwk.WithHTTPClient(client), jwk.WithMinRefreshInterval(time.Minute), jwk.WithPostFetcher(fetched)); err != nil {
			return nil, fmt.Errorf("idp: register jwks: %w", err)
		}
	}
	return v, nil
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// defaultMaxAge gives JWKS responses without caching headers a max-age, so
// jwk.Cache keeps their keys for that long.
type defaultMaxAge struct {
	next   http.RoundTripper
	maxAge time.Duration
}

func (t defaultMaxAge) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	cc := res.Header.Get("Cache-Control")
	if res.StatusCode == http.StatusOK && !strings.Contains(strings.ToLower(cc), "max-age") && res.Header.Get("Expires") == "" {
		maxAge := fmt.Sprintf("max-age=%d", int(t.maxAge.Seconds()))
		if cc != "" {
			maxAge = cc + ", " + maxAge
		}
		res.Header.Set("Cache-Control", maxAge)
	}
	return res, nil
}

// header is the part of a JOSE header Verify needs before choosing a key.
type header struct {
	Alg  string           `json:"alg"`
	Kid  string           `json:"kid"`
	Typ  *string          `json:"typ"`
	Crit *json.RawMessage `json:"crit"`
}

// acceptedTypes are the typ values of an access token (RFC 7519 "JWT",
// RFC 9068 "at+jwt"), compared case-insensitively and with the optional
// "application/" prefix of RFC 7515 §4.1.9. No typ is accepted too.
var acceptedTypes = map[string]bool{"jwt": true, "at+jwt": true}

// parseHeader reads the JOSE header and refuses what Verify does not
// understand: any crit (RFC 7515 §4.1.11: a recipient must reject
// extensions it does not know, and userd knows none; an empty list is
// invalid anyway) and a typ other than an access token's.
func parseHeader(token string) (header, error) {
	var h header
	first, _, ok := strings.Cut(token, ".")
	if !ok {
		return h, ErrInvalidToken
	}
	b, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return h, ErrInvalidToken
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, ErrInvalidToken
	}
	if h.Crit != nil {
		return h, fmt.Errorf("%w: crit header parameters are not supported", ErrInvalidToken)
	}
	if h.Typ != nil && !acceptedTypes[strings.TrimPrefix(strings.ToLower(*h.Typ), "application/")] {
		return h, fmt.Errorf("%w: typ %q is not an access token", ErrInvalidToken, *h.Typ)
	}
	return h, nil
}

// Verify checks token's signature with the key its kid names (using that
// key's own algorithm), then iss, aud, exp and nbf, and returns the mapped
// claims. It returns ErrInvalidToken or ErrUnavailable (wrapped).
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	c, _, err := v.VerifyGeneration(ctx, token)
	return c, err
}

// KeyGeneration is the generation of the key set Verify uses now: it
// changes as soon as a fetch of the JWKS brings other keys (one added,
// removed or replaced), so that a verdict remembered under an older
// generation is known to be stale. It is 0 before the first fetch and
// without a JWKS (HS256 only). It costs an atomic load.
func (v *Verifier) KeyGeneration(context.Context) uint64 { return v.current.Load() }

// generation numbers set: the same keys (kid and thumbprint) always get
// the same number, other keys a new one.
func (v *Verifier) generation(set jwk.Set) uint64 {
	v.genMu.Lock()
	defer v.genMu.Unlock()
	if set == v.lastSet {
		return v.lastGen
	}
	fp := fingerprint(set)
	g, ok := v.gens[fp]
	if !ok {
		g = uint64(len(v.gens)) + 1
		v.gens[fp] = g
	}
	v.lastSet, v.lastGen = set, g
	return g
}

// fingerprint names the keys of set: kid and SHA-256 thumbprint of each,
// sorted.
func fingerprint(set jwk.Set) string {
	ids := make([]string, 0, set.Len())
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			tp = nil
		}
		ids = append(ids, k.KeyID()+"="+base64.RawURLEncoding.EncodeToString(tp))
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// VerifyGeneration is Verify that also returns the key generation (see
// KeyGeneration) of the key set the token was verified with.
func (v *Verifier) VerifyGeneration(ctx context.Context, token string) (Claims, uint64, error) {
	h, err := parseHeader(token)
	if err != nil {
		return Claims{}, 0, err
	}
	var alg jwa.SignatureAlgorithm
	var key any
	var gen uint64
	switch {
	case h.Alg == string(jwa.HS256):
		if v.cfg.JWTSecret == "" {
			return Claims{}, 0, fmt.Errorf("%w: HS256 is not accepted", ErrInvalidToken)
		}
		alg, key = jwa.HS256, []byte(v.cfg.JWTSecret)
		gen = v.current.Load() // the secret is part of every generation
	case v.cache == nil:
		return Claims{}, 0, fmt.Errorf("%w: algorithm %q is not accepted", ErrInvalidToken, h.Alg)
	default:
		k, set, err := v.key(ctx, h.Kid)
		if err != nil {
			return Claims{}, 0, err
		}
		alg = algorithmOf(k)
		if alg == "" || string(alg) != h.Alg {
			return Claims{}, 0, fmt.Errorf("%w: algorithm %q does not match the key", ErrInvalidToken, h.Alg)
		}
		key = k
		gen = v.generation(set)
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(v.cfg.Leeway),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	if err != nil {
		return Claims{}, 0, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	c, err := mapClaims(tok)
	return c, gen, err
}

// key returns the public key with the given kid and the set it is in,
// refetching the JWKS once (at most every UnknownKIDRefresh) when the kid
// is unknown.
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, jwk.Set, error) {
	if kid == "" {
		return nil, nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	set, err := v.cache.Get(ctx, v.cfg.JWKSURL)
	if err != nil {
		if set, err = v.retryOutage(ctx); err != nil {
			return nil, nil, err
		}
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, set, nil
	}
	set, err = v.forceRefresh(ctx)
	if err != nil {
		return nil, nil, err
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, set, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
}

// retryOutage fetches the JWKS again when no key was ever cached, at most
// every OutageRefresh, so recovery is quick but a dead IdP is not hammered.
func (v *Verifier) retryOutage(ctx context.Context) (jwk.Set, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.lastOutage) < v.cfg.OutageRefresh {
		return nil, fmt.Errorf("%w: no keys cached", ErrUnavailable)
	}
	v.lastOutage = time.Now()
	set, err := v.cache.Refresh(ctx, v.cfg.JWKSURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return set, nil
}

func (v *Verifier) forceRefresh(ctx context.Context) (jwk.Set, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.lastForced) < v.cfg.UnknownKIDRefresh {
		if v.forcedError != nil {
			return nil, v.forcedError
		}
		return v.cache.Get(ctx, v.cfg.JWKSURL)
	}
	v.lastForced = time.Now()
	set, err := v.cache.Refresh(ctx, v.cfg.JWKSURL)
	if err != nil {
		v.forcedError = fmt.Errorf("%w: %v", ErrUnavailable, err)
		return nil, v.forcedError
	}
	v.forcedError = nil
	return set, nil
}

// algorithmOf is the key's declared algorithm, else the one its type implies.
func algorithmOf(k jwk.Key) jwa.SignatureAlgorithm {
	if a := k.Algorithm().String(); a != "" {
		var alg jwa.SignatureAlgorithm
		if alg.Accept(a) == nil && alg != jwa.NoSignature && alg != jwa.HS256 && alg != jwa.HS384 && alg != jwa.HS512 {
			return alg
		}
		return ""
	}
	switch k.KeyType() {
	case "RSA":
		return jwa.RS256
	case "EC":
		if crv, ok := k.Get("crv"); ok && fmt.Sprint(crv) == "P-256" {
			return jwa.ES256
		}
	case "OKP":
		return jwa.EdDSA
	}
	return ""
}
