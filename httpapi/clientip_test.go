package httpapi

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/realclientip/realclientip-go"
)

func TestClientIPs(t *testing.T) {
	t.Parallel()
	proxies := newClientIPs([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	none := newClientIPs(nil)
	cases := []struct {
		name   string
		c      clientIPs
		remote string
		xff    []string
		want   string
	}{
		{"no proxy trusted: header ignored", none, "198.51.100.7:5000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"untrusted peer: header ignored", proxies, "198.51.100.7:5000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"trusted peer: its client", proxies, "10.1.2.3:443", []string{"203.0.113.1"}, "203.0.113.1"},
		{"client-written addresses on the left are skipped", proxies, "10.1.2.3:443", []string{"6.6.6.6, 203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"several headers read as one list", proxies, "10.1.2.3:443", []string{"6.6.6.6", "203.0.113.1"}, "203.0.113.1"},
		{"all trusted: the peer", proxies, "10.1.2.3:443", []string{"10.4.4.4"}, "10.1.2.3"},
		{"no header from a trusted peer: the peer", proxies, "10.1.2.3:443", nil, "10.1.2.3"},
		{"garbage at the right: the peer", proxies, "10.1.2.3:443", []string{"203.0.113.1, nonsense"}, "10.1.2.3"},
		{"IPv6 proxy and client", proxies, "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", none, "[::ffff:198.51.100.7]:5000", nil, "198.51.100.7"},
		{"unreadable peer", none, "pipe", nil, "invalid IP"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.c.of(r).String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

// TestPeerIPAsRealclientip: the peer address read in place is the one
// realclientip's RemoteAddrStrategy reads, for every form of RemoteAddr.
func TestPeerIPAsRealclientip(t *testing.T) {
	t.Parallel()
	for _, remote := range []string{
		"198.51.100.7:5000", "[2001:db8::5]:443", "[fe80::1%eth0]:80", "[::ffff:198.51.100.7]:5000",
		"0.0.0.0:80", "[::]:80", "[::ffff:0.0.0.0]:1", "198.51.100.7", "2001:db8::5", "fe80::1%eth0",
		"198.51.100.7:99999", "01.2.3.4:80", "pipe", "@", "", "[2001:db8::5]", "127.0.0.1:0",
	} {
		want := parseIP(realclientip.RemoteAddrStrategy{}.ClientIP(nil, remote))
		if got := peerIP(remote); got != want {
			t.Errorf("%q: got %v, want %v", remote, got, want)
		}
	}
}
