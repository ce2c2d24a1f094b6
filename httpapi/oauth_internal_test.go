package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseTokenForm checks that any token request body either parses or
// is refused as invalid_request (400), never panics, and that what parses
// is text a query could hold (valid UTF-8, no NUL) and survives encoding
// and parsing again unchanged.
func FuzzParseTokenForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=password&username=a%40b.c&password=x", "grant_type=refresh_token&refresh_token=abc&client_id=userd",
		"", "&&", "=", "grant_type", "grant_type=password&grant_type=password", "username=%FF", "password=a%00b", "a=%zz",
		"scope=openid+profile&username=%2B91+98123+45670", "username=%E2%82%AC;password=x", "password=%ED%A0%80",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		form, err := parseTokenForm(b)
		if err != nil {
			var api *apiError
			if !errors.As(err, &api) || api.code != "invalid_request" || api.status != http.StatusBadRequest {
				t.Fatalf("parseTokenForm(%q): got %v, want invalid_request 400", b, err)
			}
			return
		}
		v := url.Values{}
		for name, value := range map[string]string{"grant_type": form.grantType, "username": form.username, "password": form.password, "refresh_token": form.refreshToken, "client_id": form.clientID} {
			if !utf8.ValidString(value) || strings.ContainsRune(value, 0) {
				t.Fatalf("parseTokenForm(%q): %s %q is not NUL-free UTF-8", b, name, value)
			}
			v.Set(name, value)
		}
		again, err := parseTokenForm([]byte(v.Encode()))
		if err != nil || again != form {
			t.Fatalf("parseTokenForm(%q) = %+v; encoded and parsed again: %+v, %v", b, form, again, err)
		}
	})
}
