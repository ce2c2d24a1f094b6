package idp

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// roundTripFunc serves responses with fixed headers.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultMaxAge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		status        int
		cacheControl  string
		expires       string
		wantCacheCtrl string
	}{
		{"no caching headers", 200, "", "", "max-age=3600"},
		{"provider's max-age kept", 200, "public, max-age=600", "", "public, max-age=600"},
		{"cache-control without max-age", 200, "public", "", "public, max-age=3600"},
		{"expires kept", 200, "", "Wed, 21 Oct 2037 07:28:00 GMT", ""},
		{"error responses untouched", 502, "", "", ""},
	}
	for _, c := range cases {
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			rec := httptest.NewRecorder()
			if c.cacheControl != "" {
				rec.Header().Set("Cache-Control", c.cacheControl)
			}
			if c.expires != "" {
				rec.Header().Set("Expires", c.expires)
			}
			rec.WriteHeader(c.status)
			return rec.Result(), nil
		})
		req := httptest.NewRequest(http.MethodGet, "http://idp.test/jwks.json", nil)
		res, err := defaultMaxAge{next: next, maxAge: time.Hour}.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("Cache-Control"); got != c.wantCacheCtrl {
			t.Errorf("%s: got Cache-Control %q, want %q", c.name, got, c.wantCacheCtrl)
		}
	}
}
