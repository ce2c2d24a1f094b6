// Package pglocal finds a PostgreSQL server on this machine, or starts one
// from the installed binaries, for development and tests.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/userd/userd/dburl"
)

// DefaultURL is the server userd looks for first: the conventional local
// PostgreSQL with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Port is where a server started by Ensure listens (loopback only).
const Port = 54329

// Ensure returns the URL of the maintenance database ("postgres") of a
// reachable server: the one at DefaultURL if it answers, else a server kept
// in dataDir, initialized and started on 127.0.0.1:Port when needed. It is
// safe to call from several processes at once.
func Ensure(ctx context.Context, dataDir string) (string, error) {
	if reachable(ctx, DefaultURL) {
		return DefaultURL, nil
	}
	return Start(ctx, dataDir)
}

// Start initializes (once) and starts a server in dataDir on Port and
// returns its URL. A server already answering there is used as it is.
func Start(ctx context.Context, dataDir string) (string, error) {
	srv := NewServer(dataDir, Port)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dataDir, err)
	}
	unlock, err := lockFile(filepath.Join(dataDir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if reachable(ctx, srv.URL()) {
		return srv.URL(), nil
	}
	if err := srv.Start(ctx); err != nil {
		return "", err
	}
	return srv.URL(), nil
}

// Server is a PostgreSQL server kept in a directory of its own and run
// from the installed binaries, listening on 127.0.0.1 only, with trust
// authentication for the user postgres. Tests that stop and crash a
// server use one on a free port (FreePort) in a temporary directory.
type Server struct {
	dir  string
	port int
}

// NewServer describes a server kept in dir and listening on port; nothing
// runs until Start.
func NewServer(dir string, port int) *Server { return &Server{dir: dir, port: port} }

// URL is the server's maintenance database ("postgres").
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start initializes the server's data directory when it has none and
// starts the server, returning once it answers.
// Errors: no binaries, initdb or pg_ctl failures (with the log's path).
func (s *Server) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	bin, err := binDir()
	if err != nil {
		return err
	}
	pgdata := filepath.Join(s.dir, "pgdata")
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		if err := run(ctx, s.dir, filepath.Join(bin, "initdb"), "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
			return fmt.Errorf("initdb: %w", err)
		}
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=300", s.port, s.dir)
	logFile := filepath.Join(s.dir, "postgres.log")
	if err := run(ctx, s.dir, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-o", opts, "-l", logFile, "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start (log in %s): %w", logFile, err)
	}
	for range 50 {
		if reachable(ctx, s.URL()) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres started in %s but does not answer on port %d", pgdata, s.port)
}

// Stop stops the server with pg_ctl's mode: "fast" (roll back and close
// connections) or "immediate" (quit at once, as a crash: the next start
// recovers from the WAL).
// Errors: pg_ctl's.
func (s *Server) Stop(ctx context.Context, mode string) error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	if err := run(ctx, s.dir, filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(s.dir, "pgdata"), "-m", mode, "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w", mode, err)
	}
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
// Errors: the listener's.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func reachable(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := dburl.Connect(ctx, url)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries found (initdb): install the PostgreSQL server")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// run runs a server binary; PostgreSQL refuses to run as root, so as root
// it runs as the "postgres" user, who is given the data directory.
func run(ctx context.Context, dataDir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return errors.New(`running as root needs a "postgres" user to own the server`)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := chownAll(dataDir, uid, gid); err != nil {
			return err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = dataDir
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func chownAll(dir string, uid, gid int) error {
	for d := dir; ; d = filepath.Dir(d) {
		// The server user must be able to reach the directory.
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 && d != dir {
			_ = os.Chmod(d, fi.Mode().Perm()|0o011)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// lockFile takes an exclusive lock on path, so that concurrent processes
// start at most one server.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
