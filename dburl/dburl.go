// Package dburl reads a DATABASE_URL that may carry pgxpool's own
// parameters (pool_max_conns, pool_min_conns, pool_max_conn_lifetime, …)
// and hands each consumer the part it understands: pgxpool takes them all,
// a single pgx connection and dbmate (lib/pq) take the URL without them,
// since PostgreSQL refuses them as unknown run-time parameters.
package dburl

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// poolParam reports whether a query parameter is one of pgxpool's.
func poolParam(name string) bool { return strings.HasPrefix(name, "pool_") }

// WithoutPoolParams returns rawURL with pgxpool's parameters removed, for
// clients that pass every parameter to the server (dbmate, psql).
// A keyword/value string (host=… pool_max_conns=…) is returned with those
// keywords dropped.
// Errors: a URL that does not parse.
func WithoutPoolParams(rawURL string) (string, error) {
	if !strings.Contains(rawURL, "://") {
		fields := strings.Fields(rawURL)
		kept := fields[:0]
		for _, f := range fields {
			if k, _, _ := strings.Cut(f, "="); !poolParam(k) {
				kept = append(kept, f)
			}
		}
		return strings.Join(kept, " "), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", redactErr(err))
	}
	q := u.Query()
	for k := range q {
		if poolParam(k) {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ConnConfig parses rawURL, pool parameters included, into the
// configuration of one connection.
// Errors: a URL pgx cannot parse.
func ConnConfig(rawURL string) (*pgx.ConnConfig, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return cfg.ConnConfig, nil
}

// Connect opens one connection on rawURL, pool parameters ignored.
// Errors: an unparsable URL, or the connection's.
func Connect(ctx context.Context, rawURL string) (*pgx.Conn, error) {
	cfg, err := ConnConfig(rawURL)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// DefaultMaxConns sizes a pool whose URL has no pool_max_conns.
const DefaultMaxConns = 20

// PoolConfig parses rawURL, pool parameters included, into the
// configuration of userd's pool: DefaultMaxConns unless pool_max_conns
// says otherwise, and a context that ends while a statement runs sends
// PostgreSQL a cancel request, so the statement stops there too (the
// default only closes the socket, and a statement queued on a lock would
// wait on in the server). When the server does not answer the cancel
// within half a second the connection is dropped. A positive timeout
// (USERD_DB_TIMEOUT) also becomes the server's statement_timeout and
// lock_timeout, unless the URL sets them: a backstop, so that no statement
// outlives the request it serves even when the cancel request is lost.
// Errors: a URL pgx cannot parse.
func PoolConfig(rawURL string, timeout time.Duration) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if !hasParam(rawURL, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 500 * time.Millisecond}
	}
	if timeout > 0 {
		ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
		for _, p := range []string{"statement_timeout", "lock_timeout"} {
			if _, set := cfg.ConnConfig.RuntimeParams[p]; !set {
				cfg.ConnConfig.RuntimeParams[p] = ms
			}
		}
	}
	return cfg, nil
}

// PooledConfig parses rawURL, pool parameters included, into the
// configuration of a pool whose connections go through a pooler in
// transaction mode (PgBouncer pool_mode=transaction): as PoolConfig with
// no timeout (a pooler refuses statement_timeout and lock_timeout as
// startup parameters; the service sets them per transaction instead), and
// statements sent in pgx's QueryExecModeCacheDescribe unless the URL names
// a default_query_exec_mode. Named prepared statements (pgx's default)
// live in one server session, which a transaction-mode pooler does not
// keep. CacheDescribe describes a statement once per connection (an
// unnamed statement: it does not matter which server answers) and then
// sends each execution as one Parse, Bind, Execute, Sync with the known
// parameter types, which no other client's transaction can come between;
// a statement that fails is described again next time (a schema change).
// QueryExecModeExec guesses parameter types from Go types and sends a
// []byte for a json parameter as bytea text, which PostgreSQL refuses;
// DescribeExec is as safe but takes two round trips every time; the simple
// protocol interpolates on the client. README "Scaling" has the figures.
// Errors: a URL pgx cannot parse.
func PooledConfig(rawURL string) (*pgxpool.Config, error) {
	cfg, err := PoolConfig(rawURL, 0)
	if err != nil {
		return nil, err
	}
	if !hasParam(rawURL, "default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	// No cancel requests through the pooler: PgBouncer 1.18 exits on a
	// cancel request whose client hangs up before the pooler has passed it
	// on (pgbouncer#801, fixed in 1.20). A context that ends closes the
	// connection instead; the pooler then drops (and cancels) the server
	// connection, and the transaction's own timeouts bound the rest.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	return cfg, nil
}

// hasParam reports whether rawURL (a URL or keyword/value string) sets name.
func hasParam(rawURL, name string) bool {
	if !strings.Contains(rawURL, "://") {
		for _, f := range strings.Fields(rawURL) {
			if k, _, _ := strings.Cut(f, "="); k == name {
				return true
			}
		}
		return false
	}
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has(name)
}

// WithDatabase returns rawURL naming the database db instead; the other
// parts, pool parameters included, are kept.
// Errors: a URL that does not parse.
func WithDatabase(rawURL, db string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", redactErr(err))
	}
	u.Path = "/" + db
	return u.String(), nil
}

// Redacted returns rawURL with its password hidden, for messages.
func Redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// redactErr drops the URL from a url.Error, which would show a password.
func redactErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// AsURL returns a keyword/value connection string (libpq's form,
// `host=db user=userd password='a b' dbname=userd sslmode=require`) as
// the postgres:// URL that means the same, so that every consumer (pgx,
// dbmate, the redactor, the printed commands) sees one form; a string that
// is a URL already, or empty, is returned as it is. host, port, user, password and
// dbname become the URL's parts (several hosts, "a,b" with ports "1,2",
// become "a:1,b:2"; a socket directory stays the host parameter); every
// other keyword, pool parameters included, becomes a query parameter.
// Errors (quoting no value: a password could be in it): a keyword without
// "=", an unterminated quote, a keyword given twice, ports that do not
// pair with hosts.
func AsURL(s string) (string, error) {
	if strings.TrimSpace(s) == "" || strings.Contains(s, "://") {
		return s, nil
	}
	kv, order, err := keywordValues(s)
	if err != nil {
		return "", err
	}
	u := &url.URL{Scheme: "postgres", Path: "/" + kv["dbname"]}
	if pw, ok := kv["password"]; ok {
		u.User = url.UserPassword(kv["user"], pw)
	} else if user, ok := kv["user"]; ok {
		u.User = url.User(user)
	}
	q := url.Values{}
	hosts, ports := splitList(kv["host"]), splitList(kv["port"])
	switch {
	case len(hosts) > 0 && strings.HasPrefix(hosts[0], "/"):
		q.Set("host", kv["host"]) // a socket directory
		if kv["port"] != "" {
			q.Set("port", kv["port"])
		}
	case len(ports) > 1 && len(ports) != len(hosts):
		return "", fmt.Errorf("keyword/value database string: %d ports for %d hosts", len(ports), len(hosts))
	default:
		parts := make([]string, 0, len(hosts))
		for i, h := range hosts {
			if strings.Contains(h, ":") {
				h = "[" + h + "]" // an IPv6 address
			}
			switch {
			case len(ports) == len(hosts):
				h += ":" + ports[i]
			case len(ports) == 1:
				h += ":" + ports[0]
			}
			parts = append(parts, h)
		}
		u.Host = strings.Join(parts, ",")
		if len(hosts) == 0 && kv["port"] != "" {
			u.Host = "localhost:" + kv["port"]
		}
	}
	for _, k := range order {
		switch k {
		case "host", "port", "user", "password", "dbname":
		default:
			q.Set(k, kv[k])
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// keywordValues parses libpq's keyword/value form: keyword = value pairs
// separated by white space; a value is single-quoted to hold spaces, and
// a backslash escapes the next character (\' and \\).
func keywordValues(s string) (map[string]string, []string, error) {
	kv := map[string]string{}
	var order []string
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
			i++
		}
		key := s[start:i]
		skip()
		if i == len(s) || s[i] != '=' || key == "" {
			return nil, nil, fmt.Errorf("keyword/value database string: the word at byte %d has no \"=\" (want a postgres:// URL or key=value pairs)", start)
		}
		i++ // "="
		skip()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					v.WriteByte(s[i])
					i++
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return nil, nil, fmt.Errorf("keyword/value database string: the value of %q has no closing quote", key)
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
				i++
			}
		}
		if _, dup := kv[key]; dup {
			return nil, nil, fmt.Errorf("keyword/value database string: %q is given twice", key)
		}
		kv[key] = v.String()
		order = append(order, key)
	}
	return kv, order, nil
}
