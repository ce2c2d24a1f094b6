package main

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// The trivial handler of bench me --compare answers every request with
// userd's header fields and body as they were read, so that the load
// client parses the same response from both; only Date is its own.
func TestTrivialServeAnswersAsUserd(t *testing.T) {
	t.Parallel()
	a := meResponse{
		header: http.Header{
			"Cache-Control":          {"private, no-cache"},
			"Content-Length":         {"17"},
			"Content-Type":           {"application/json"},
			"Date":                   {"Mon, 07 Dec 2026 00:00:00 GMT"},
			"Etag":                   {`"0123456789abcdef0123456789abcdef"`},
			"X-Content-Type-Options": {"nosniff"},
			"X-Request-Id":           {"0123456789abcdef01234567"},
		},
		body: []byte(`{"id":1,"a":"b"}` + "\n"),
	}
	base, stop, err := trivialServe(a)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for range 2 {
		req, err := http.NewRequest(http.MethodGet, base+"/api/v1/users/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer x.y.z")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || string(body) != string(a.body) {
			t.Fatalf("got %d %q (%v), want 200 %q", res.StatusCode, body, err, a.body)
		}
		if d := res.Header.Get("Date"); d == "" || d == a.header.Get("Date") {
			t.Errorf("got Date %q, want the server's own", d)
		}
		for name, want := range a.header {
			if name != "Date" && !slices.Equal(res.Header[name], want) {
				t.Errorf("got %s %q, want %q", name, res.Header[name], want)
			}
		}
		if len(res.Header) != len(a.header) {
			t.Errorf("got header fields %v, want those of %v", res.Header, a.header)
		}
	}
}

// p50 and p99 of a load run are nearest-rank percentiles: of 100
// latencies, p99 is the 99th, not the largest.
func TestSummarizePercentiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n        int
		p50, p99 time.Duration
	}{{1, 1, 1}, {2, 1, 2}, {100, 50, 99}, {1000, 500, 990}, {1001, 501, 991}} {
		lat := make([]time.Duration, c.n)
		for i := range lat {
			lat[i] = time.Duration(c.n - i) // unsorted: n … 1
		}
		r, err := summarize(lat, 0, time.Second, "requests")
		if err != nil || r.p50 != c.p50 || r.p99 != c.p99 || r.n != c.n {
			t.Errorf("%d latencies: got p50 %d, p99 %d, n %d (%v); want %d, %d, %d", c.n, r.p50, r.p99, r.n, err, c.p50, c.p99, c.n)
		}
	}
}
