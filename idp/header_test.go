package idp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// signedWithHeaders is a valid HS256 token for the config below, with
// extra protected header parameters.
func signedWithHeaders(t *testing.T, secret string, headers map[string]any) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer("https://idp.test").Audience([]string{"authenticated"}).
		Subject("sub-1").IssuedAt(now).Expiration(now.Add(time.Hour)).Build()
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	for k, v := range headers {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(secret), jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The verifier refuses JOSE extensions it does not know (crit) and any
// typ but an access token's.
func TestVerifyCritAndTyp(t *testing.T) {
	t.Parallel()
	const secret = "a legacy secret of thirty-two bytes!"
	v, err := NewVerifier(context.Background(), Config{Issuer: "https://idp.test", Audience: "authenticated", JWTSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		headers map[string]any
		ok      bool
	}{
		{"no typ", nil, true},
		{"typ JWT", map[string]any{"typ": "JWT"}, true},
		{"typ jwt lower-case", map[string]any{"typ": "jwt"}, true},
		{"typ at+jwt", map[string]any{"typ": "at+jwt"}, true},
		{"typ application/at+jwt", map[string]any{"typ": "application/at+JWT"}, true},
		{"typ JOSE", map[string]any{"typ": "JOSE"}, false},
		{"typ id-token", map[string]any{"typ": "id_token+jwt"}, false},
		{"typ logout", map[string]any{"typ": "logout+jwt"}, false},
		{"typ empty", map[string]any{"typ": ""}, false},
		{"crit exp", map[string]any{"crit": []string{"exp"}, "exp": 1}, false},
		{"crit b64", map[string]any{"crit": []string{"b64"}, "b64": true}, false},
		{"crit empty", map[string]any{"crit": []string{}}, false},
		{"crit unknown with typ JWT", map[string]any{"typ": "JWT", "crit": []string{"x-policy"}, "x-policy": "strict"}, false},
	}
	for _, c := range cases {
		_, err := v.Verify(context.Background(), signedWithHeaders(t, secret, c.headers))
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: got %v, want the token accepted", c.name, err)
		case !c.ok && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: got %v, want ErrInvalidToken", c.name, err)
		}
	}
}
