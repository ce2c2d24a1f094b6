package httpapi

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/realclientip/realclientip-go"
)

// clientIPs finds the address of the client behind a request. The peer of
// the connection is the client, unless the peer is a trusted proxy: then
// the client is the rightmost address of X-Forwarded-For that is not a
// trusted proxy (addresses further left were written by the client itself
// and prove nothing). A trusted peer that sends no usable header is taken
// as the client.
type clientIPs struct {
	trusted []netip.Prefix
	xff     realclientip.Strategy // nil when no proxy is trusted
}

func newClientIPs(trusted []netip.Prefix) clientIPs {
	c := clientIPs{trusted: trusted}
	if len(trusted) == 0 {
		return c
	}
	nets := make([]net.IPNet, 0, len(trusted))
	for _, p := range trusted {
		p = p.Masked()
		nets = append(nets, net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	// The only error is a header name other than X-Forwarded-For or Forwarded.
	c.xff = realclientip.Must(realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", nets))
	return c
}

// of returns r's client address; the zero Addr when even the peer's
// address cannot be read.
func (c clientIPs) of(r *http.Request) netip.Addr {
	peer := peerIP(r.RemoteAddr)
	if c.xff == nil || !peer.IsValid() || !c.isTrusted(peer) {
		return peer
	}
	if ip := parseIP(c.xff.ClientIP(r.Header, r.RemoteAddr)); ip.IsValid() {
		return ip
	}
	return peer
}

// peerIP is the address of a connection's peer (RemoteAddr), as
// realclientip.RemoteAddrStrategy reads it: without its zone, unmapped,
// the zero Addr for an unspecified one. The usual "ip:port" is parsed in
// place; anything else goes through realclientip.
func peerIP(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a := ap.Addr().WithZone("").Unmap()
		if a.IsUnspecified() {
			return netip.Addr{}
		}
		return a
	}
	return parseIP(realclientip.RemoteAddrStrategy{}.ClientIP(nil, remoteAddr))
}

func (c clientIPs) isTrusted(ip netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseIP reads an address without its zone, IPv4-mapped IPv6 unmapped.
func parseIP(s string) netip.Addr {
	host, _ := realclientip.SplitHostZone(s)
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
