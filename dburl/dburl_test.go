package dburl_test

import (
	"context"
	"strings"
	"testing"

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
