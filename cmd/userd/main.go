// Command userd is the user-identity service: serve, migrate, keygen and
// the development helpers. Run `userd help` for the commands and
// `userd <command> --help` for one of them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/userd/userd/config"
	"github.com/userd/userd/redact"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…
// -X main.buildDate=…" (make build, make release); unset, userd version
// falls back to what the Go toolchain recorded in the binary.
var (
	version   = ""
	commit    = ""
	buildDate = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var f *failure
	if errors.As(err, &f) {
		fmt.Fprintln(os.Stderr, "userd:", f.msg)
		os.Exit(f.code)
	}
}

// failure is what run returns: a message with every credential already
// redacted, and the exit status (2 for a usage error, else 1).
type failure struct {
	msg  string
	code int
}

func (f *failure) Error() string { return f.msg }

// usageError is a command line that cannot be run as given (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// cmdEnv is what a command runs with.
type cmdEnv struct {
	cfg    config.Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
}

// run runs the command named by args[0]. Help (-h, --help anywhere before
// "--", or `userd help <command>`) only prints and never runs anything.
// Every error comes back as a *failure whose message is redacted.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	red := config.Redactor(os.Getenv)
	err := dispatch(ctx, red, args, stdout, stderr)
	if err == nil {
		return nil
	}
	code := 1
	var ue *usageError
	if errors.As(err, &ue) {
		code = 2
	}
	return &failure{msg: red.String(err.Error()), code: code}
}

func dispatch(ctx context.Context, red *redact.Redactor, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printCommandList(stderr)
		return usageErrorf("no command given")
	}
	name := args[0]
	if isHelpFlag(name) {
		name = "help"
	}
	cmd := lookup(name)
	if cmd == nil {
		printCommandList(stderr)
		return usageErrorf("unknown command %q", name)
	}
	if wantsHelp(args[1:]) {
		printHelp(stdout, cmd)
		return nil
	}
	e := cmdEnv{stdout: stdout, stderr: stderr}
	if !cmd.noConfig {
		cfg, err := config.Load(os.Getenv)
		if cmd.devOnly && !cfg.Dev() {
			return fmt.Errorf("%s is a development command: it runs only with USERD_ENV=dev (%s)", cmd.name, cfg.EnvSource())
		}
		if err != nil {
			return err
		}
		e.cfg, e.log = cfg, newLogger(stderr, cfg.LogLevel, red)
	}
	return cmd.run(ctx, e, args[1:])
}

// newLogger returns the JSON logger every command logs with; red removes
// credentials from each record first.
func newLogger(w io.Writer, level slog.Level, red *redact.Redactor) *slog.Logger {
	return slog.New(red.Handler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}
