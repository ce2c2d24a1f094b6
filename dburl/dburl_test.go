package dburl_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
)

func TestWithoutPoolParams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable&pool_max_conns=10&pool_min_conns=2", "postgres://u:p@h:5432/db?sslmode=disable"},
		{"postgres://h/db?pool_max_conn_lifetime=1h", "postgres://h/db"},
		{"postgres://h/db", "postgres://h/db"},
		{"host=h dbname=db pool_max_conns=10 sslmode=disable", "host=h dbname=db sslmode=disable"},
	} {
		got, err := dburl.WithoutPoolParams(c.in)
		if err != nil || got != c.want {
			t.Errorf("WithoutPoolParams(%q): got %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	if _, err := dburl.WithoutPoolParams("postgres://u:secret@h:bad/db"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL: got %v, want an error that does not show the password", err)
	}
}

// TestConnectWithPoolParams: a URL sized for pgxpool still opens a plain
// connection (PostgreSQL would refuse pool_max_conns as a parameter).
func TestConnectWithPoolParams(t *testing.T) {
	t.Parallel()
	u := pgtest.NewURL(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	conn, err := dburl.Connect(context.Background(), u+sep+"pool_max_conns=10&pool_min_conns=1")
	if err != nil {
		t.Fatalf("connect with pool parameters: %v", err)
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1: got %d, %v", one, err)
	}
}

// TestPooledConfig: through a transaction-mode pooler, statements go by
// cached description, no timeout rides on the startup packet, and a
// context that ends closes the connection instead of sending a cancel
// request; a URL's own exec mode wins.
func TestPooledConfig(t *testing.T) {
	t.Parallel()
	cfg, err := dburl.PooledConfig("postgres://u@h:6432/db?pool_max_conns=10")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnConfig.DefaultQueryExecMode; got != pgx.QueryExecModeCacheDescribe {
		t.Errorf("exec mode: got %v, want cache_describe", got)
	}
	for _, p := range []string{"statement_timeout", "lock_timeout"} {
		if v, ok := cfg.ConnConfig.RuntimeParams[p]; ok {
			t.Errorf("startup parameter %s = %q, want none", p, v)
		}
	}
	if cfg.MaxConns != 10 {
		t.Errorf("max conns: got %d, want 10", cfg.MaxConns)
	}
	if h := cfg.ConnConfig.BuildContextWatcherHandler(&pgconn.PgConn{}); h == nil {
		t.Error("no context watcher handler")
	} else if _, ok := h.(*pgconn.DeadlineContextWatcherHandler); !ok {
		t.Errorf("context watcher: got %T, want *pgconn.DeadlineContextWatcherHandler", h)
	}
	cfg, err = dburl.PooledConfig("postgres://u@h:6432/db?default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnConfig.DefaultQueryExecMode; got != pgx.QueryExecModeSimpleProtocol {
		t.Errorf("exec mode from the URL: got %v, want simple_protocol", got)
	}
}

// TestAsURL: a keyword/value string becomes the URL that means the same
// to pgx (compared field by field), and malformed ones are refused without
// showing the password.
func TestAsURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@h/db", "postgres://u:p@h/db"},
		{"", ""},
		{"host=db.internal port=6432 user=userd password=s3cret dbname=userd sslmode=require",
			"postgres://userd:s3cret@db.internal:6432/userd?sslmode=require"},
		{"host = h  user=u password='a b\\'c' dbname=d pool_max_conns=10",
			"postgres://u:a%20b%27c@h/d?pool_max_conns=10"},
		{"host=a,b port=5432,5433 dbname=d", "postgres://a:5432,b:5433/d"},
		{"host=/var/run/postgresql dbname=d user=u", "postgres://u@/d?host=%2Fvar%2Frun%2Fpostgresql"},
		{"host=::1 port=5432 dbname=d", "postgres://[::1]:5432/d"},
		{"host=h password=pw dbname=d", "postgres://:pw@h/d"},
	} {
		got, err := dburl.AsURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("AsURL(%q): got %q, %v, want %q", c.in, got, err, c.want)
			continue
		}
		if strings.Contains(c.in, "://") {
			continue
		}
		// pgx reads both forms alike.
		a, err := pgconn.ParseConfig(strings.ReplaceAll(c.in, " pool_max_conns=10", ""))
		if err != nil {
			t.Fatal(err)
		}
		b, err := dburl.ConnConfig(got)
		if err != nil {
			t.Fatal(err)
		}
		if a.Host != b.Host || a.Port != b.Port || a.User != b.User || a.Password != b.Password || a.Database != b.Database ||
			len(a.Fallbacks) != len(b.Fallbacks) || (a.TLSConfig == nil) != (b.TLSConfig == nil) {
			t.Errorf("AsURL(%q) = %q: pgx reads %s@%s:%d/%s, want %s@%s:%d/%s", c.in, got, b.User, b.Host, b.Port, b.Database, a.User, a.Host, a.Port, a.Database)
		}
	}
	for _, bad := range []string{
		"host=h password='s3cret",        // unterminated quote
		"host=h s3cret",                  // a word without "="
		"host=h password=s3cret host=h2", // given twice
	} {
		if _, err := dburl.AsURL(bad); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("AsURL(%q): got %v, want an error that does not show the password", bad, err)
		}
	}
}
