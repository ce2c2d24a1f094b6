package httpapi_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// pgProxy forwards TCP connections to PostgreSQL and can fault the change
// listener's (those whose startup message names service.ListenerName):
// stall them (nothing forwarded either way, sockets left open, as a
// network that drops packets) or refuse new ones (closed on connect).
type pgProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	cond     *sync.Cond
	stalled  bool // listener connections forward nothing
	refused  bool // new listener connections are closed
	refusals int  // listener connections closed on connect so far
	closed   bool
	ports    []int // local ports of the server connections of listeners
}

// newPGProxy proxies the PostgreSQL server of dbURL on a loopback port
// until the test ends: the server itself, not a pooler in front of it
// (under make test-scale the change listener connects directly).
func newPGProxy(t testing.TB, dbURL string) *pgProxy {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.DirectURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: net.JoinHostPort(cfg.ConnConfig.Host, itoa(int64(cfg.ConnConfig.Port)))}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.cond.Broadcast()
		p.mu.Unlock()
		ln.Close()
	})
	return p
}

// url is dbURL with its host and port replaced by the proxy's.
func (p *pgProxy) url(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// stall stops (or, with false, resumes) forwarding on every listener
// connection, present and future; their sockets stay open.
func (p *pgProxy) stall(on bool) {
	p.mu.Lock()
	p.stalled = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// refuse closes (or, with false, lets through again) every new listener
// connection as soon as its startup message names it.
func (p *pgProxy) refuse(on bool) {
	p.mu.Lock()
	p.refused = on
	p.mu.Unlock()
}

// refusedCount is how many listener connections refuse has closed so far.
func (p *pgProxy) refusedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refusals
}

// listenerPID is the backend of the change listener that connected
// through the proxy last (pg_stat_activity's client_port is the proxy's
// side of the connection); e's own listener, if any, is not it.
func (p *pgProxy) listenerPID(e *env) int {
	e.t.Helper()
	p.mu.Lock()
	ports := append([]int(nil), p.ports...)
	p.mu.Unlock()
	var pid int
	err := e.pool.QueryRow(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND client_port = ANY($2)
		ORDER BY backend_start DESC LIMIT 1`, service.ListenerName, ports).Scan(&pid)
	if err != nil {
		e.t.Fatalf("the proxied change listener's backend: %v", err)
	}
	return pid
}

func (p *pgProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	var mu sync.Mutex
	listener := false // seen the listener's application_name
	isListener := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return listener
	}
	// pass waits while the connection is stalled; false: close it.
	pass := func() bool {
		if !isListener() {
			return true
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for p.stalled && !p.closed {
			p.cond.Wait()
		}
		return !p.closed
	}
	done := make(chan struct{}, 2)
	go func() { // server to client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && (!pass() || writeAll(client, buf[:n]) != nil) {
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // client to server
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte(service.ListenerName)) {
					mu.Lock()
					listener = true
					mu.Unlock()
					p.mu.Lock()
					refused := p.refused
					if a, ok := server.LocalAddr().(*net.TCPAddr); ok && !refused {
						p.ports = append(p.ports, a.Port)
					}
					if refused {
						p.refusals++
					}
					p.mu.Unlock()
					if refused {
						return
					}
				}
				if !pass() || writeAll(server, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
}

func writeAll(c net.Conn, b []byte) error {
	_, err := c.Write(b)
	return err
}

// proxiedInstance serves another userd on e's database through proxy p,
// its principal cache configured by cache, as a second process whose
// network to PostgreSQL p can fault. Without a pooler all its connections
// go through p; through a pooler (make test-scale) its pool goes to the
// pooler and its change listener, which connects to PostgreSQL directly
// (USERD_LISTEN_DATABASE_URL), through p.
func (e *env) proxiedInstance(p *pgProxy, cache service.CacheConfig) *env {
	e.t.Helper()
	u := e.pool.Config().ConnString()
	opts := scaleOptions(e.t, u)
	opts.Cache = cache
	if opts.Listen != nil {
		l, err := dburl.ConnConfig(p.url(e.t, pgtest.DirectURL(e.t, u)))
		if err != nil {
			e.t.Fatal(err)
		}
		opts.Listen = l
	} else {
		u = p.url(e.t, u)
	}
	other := *e
	other.db = openDBWithOptions(e.t, u, opts)
	other.pool = other.db.Pool
	var h http.Handler
	h, other.accounts, other.outbox = e.instance(other.db)
	other.srv = serve(e.t, h)
	other.client = other.srv.Client()
	return &other
}
