package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one subcommand: how to run it and everything its help shows.
type command struct {
	name     string
	args     string        // what follows "userd <name>" in its usage line
	summary  string        // its line in the command list
	about    string        // what it does, for its help
	flags    []flagSection // the flags it takes, for its help
	env      []string      // the environment variables it reads
	example  string
	devOnly  bool // refused unless USERD_ENV=dev
	noConfig bool // runs without reading the configuration
	run      func(ctx context.Context, e cmdEnv, args []string) error
}

// flagSection is a set of flags; title names it when a command has several.
type flagSection struct {
	title   string
	declare func(fs *flag.FlagSet)
}

// commands is every command, in the order of the command list. It is
// filled in by init to break the cycle through the help command.
var commands []*command

func init() {
	commands = []*command{
		serveCommand, migrateCommand, keygenCommand, setupGroupsCommand, importCommand, exportCommand,
		webhooksCommand, clientsCommand, setupDevUsersCommand, devTokenCommand, benchCommand, versionCommand, helpCommand,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// parseFlags parses args with the flags declare defines and returns what
// is left; a bad flag is a usage error.
func parseFlags(name string, args []string, declare func(*flag.FlagSet)) ([]string, error) {
	fs := newFlagSet(name)
	declare(fs)
	return parse(fs, args)
}

// newFlagSet returns a flag set that prints nothing: help is printHelp's.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args into fs and returns what is left; a bad flag is a
// usage error.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, usageErrorf("%s: %v (see `userd %s --help`)", fs.Name(), err, strings.Fields(fs.Name())[0])
	}
	return fs.Args(), nil
}

// parseAll parses args into fs, whose command takes no arguments besides
// its flags: anything left is a usage error (noArgs).
func parseAll(fs *flag.FlagSet, args []string) error {
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	return noArgs(fs.Name(), rest)
}

// parseFlagsNoArgs is parseFlags for a command that takes flags only.
func parseFlagsNoArgs(name string, args []string, declare func(*flag.FlagSet)) error {
	rest, err := parseFlags(name, args, declare)
	if err != nil {
		return err
	}
	return noArgs(name, rest)
}

// noArgs is a usage error when a command that takes no arguments got some.
func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q (see `userd %s --help`)", name, args, name)
	}
	return nil
}

func printCommandList(w io.Writer) {
	fmt.Fprint(w, "userd — the user-identity service\n\nUsage: userd <command> [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun `userd <command> --help` for a command's flags, environment and an example.\n"+
		"USERD_ENV unset means prod; `make run` sets USERD_ENV=dev.\n")
}

func printHelp(w io.Writer, c *command) {
	usage := "userd " + c.name
	if c.args != "" {
		usage += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", usage, strings.TrimSpace(c.about))
	if c.devOnly {
		fmt.Fprint(w, "\nDevelopment only: it refuses to run unless USERD_ENV=dev.\n")
	}
	for _, s := range c.flags {
		title := "Flags"
		if s.title != "" {
			title = "Flags of " + s.title
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		s.declare(fs)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprint(w, "\nEnvironment:\n")
	if len(c.env) == 0 {
		fmt.Fprint(w, "  none\n")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range c.env {
		fmt.Fprintf(tw, "  %s\t%s\n", name, envDoc[name])
	}
	tw.Flush()
	fmt.Fprintf(w, "\nExample:\n%s\n", indent(strings.TrimSpace(c.example)))
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// envDoc says what each environment variable means, for the help.
var envDoc = map[string]string{
	"USERD_ENV":                          "dev or prod; unset means prod",
	"DATABASE_URL":                       "PostgreSQL URL (dev: unset finds or starts a local server under USERD_DATA_DIR)",
	"USERD_ADDR":                         "listen address (default :8080)",
	"USERD_PUBLIC_URL":                   "base URL of mailed links, default issuer (prod: required, https:// unless loopback; dev default http://localhost:8080)",
	"USERD_ISSUER":                       "iss of the tokens userd signs (default USERD_PUBLIC_URL)",
	"USERD_AUDIENCE":                     "aud of the tokens userd signs (default userd)",
	"USERD_SIGNING_KEY_FILE":             "private JWK or PEM signing key (prod: required, owner-only mode; dev: generated under USERD_DATA_DIR)",
	"USERD_IDP_ISSUER":                   "iss of the external IdP's tokens (unset: none; in dev, the built-in dev IdP)",
	"USERD_IDP_AUDIENCE":                 "aud of the external IdP's tokens (required with USERD_IDP_ISSUER)",
	"USERD_IDP_JWKS_URL":                 "the IdP's JWKS (default <issuer>/.well-known/jwks.json)",
	"USERD_IDP_JWT_SECRET":               "the IdP's legacy HS256 secret (optional)",
	"USERD_IDP_PROVIDER":                 "provider name recorded on identities (default supabase)",
	"USERD_IDP_ADMIN_URL":                "the IdP's admin API, for hard deletes (with USERD_IDP_ADMIN_KEY)",
	"USERD_IDP_ADMIN_KEY":                "the key of that admin API",
	"USERD_DEFAULT_REGION":               "region of phone numbers typed without +country (default IN)",
	"USERD_SMTP_URL":                     "smtp://user:pass@host:port[?tls=required] or smtps://user:pass@host:port (prod: required; dev unset: mail printed to the log)",
	"USERD_MAIL_FROM":                    "sender of mail, such as Example <no-reply@example.com> (prod: required; dev default userd <no-reply@localhost>)",
	"USERD_MAIL_TEMPLATES":               "directory of mail templates replacing the built-in ones, file by file (checked at start)",
	"USERD_DATA_DIR":                     "where dev keeps its keys, secrets and local PostgreSQL (default .data)",
	"USERD_LOG_LEVEL":                    "debug, info, warn or error (default info)",
	"USERD_METRICS_ADDR":                 "serve /metrics on this address only, e.g. 127.0.0.1:9090 (prod unset: /metrics served nowhere; dev unset: on USERD_ADDR)",
	"OTEL_EXPORTER_OTLP_ENDPOINT":        "OTLP/HTTP collector, e.g. http://otel-collector:4318: spans for each request and query (unset: no tracing, at no cost)",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "the full traces URL instead (…/v1/traces); either turns tracing on",
	"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf, the one protocol userd speaks (default)",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "the same, for traces only",
	"USERD_DB_TIMEOUT":                   "longest wait on the database for one request, acquire plus statements; then 503 db_unavailable (default 5s)",
	"USERD_HASH_CONCURRENCY":             "password hashes computed at once, 19 MiB each; more wait in a bounded queue (default half of GOMAXPROCS, at least 1)",
	"USERD_IMAGE_CONCURRENCY":            "avatar uploads decoded at once, each within 64 MiB decoded; more wait up to 5 s, then 503 overloaded (default 1)",
	"USERD_CORS_ORIGINS":                 "comma-separated browser origins allowed to call across origins, such as https://app.example.com (default none: no CORS headers)",
	"USERD_TRUSTED_PROXIES":              "comma-separated CIDRs whose X-Forwarded-For is believed (default none)",
	"USERD_LOGIN_LIMIT_PER_IP":           "failed logins per client address per 15 minutes; 0: none (default 20)",
	"USERD_SIGNUP_LIMIT_PER_IP":          "registrations and forgot-password requests per client address per hour; 0: none (prod default 20, dev none)",
	"USERD_CACHE":                        "on or off: the verified-token and principal caches of the hot path (default on)",
	"USERD_DB_POOLER":                    "transaction: DATABASE_URL goes through a transaction-mode pooler such as PgBouncer (default none)",
	"USERD_LISTEN_DATABASE_URL":          "direct PostgreSQL URL for the LISTEN connection of the caches (default DATABASE_URL)",
	"USERD_MIGRATE_DATABASE_URL":         "direct PostgreSQL URL for migrations and the schema check (default DATABASE_URL)",
	"USERD_DATABASE_REPLICA_URL":         "streaming replica read by the directory, audit log, profiles, follow and member lists (default none)",
	"USERD_REPLICA_MAX_LAG":              "replay lag past which those reads go to the primary (default 1s)",
	"USERD_SITE_URL":                     "base URL of mailed links when the application serves its own pages (same paths; default USERD_PUBLIC_URL)",
	"USERD_REDIRECT_URLS":                "comma-separated origins or origin+path prefixes the hosted pages may redirect to after an action (redirect_to; default none)",
	"USERD_BRAND_NAME":                   "name shown by the hosted pages (default userd)",
	"USERD_BRAND_COLOR":                  "button colour of the hosted pages, #rgb or #rrggbb (default #1a4fb5)",
	"USERD_BRAND_LOGO_URL":               "absolute URL of a logo shown by the hosted pages (default none)",
	"USERD_WEB_TEMPLATES":                "directory of page templates replacing the built-in ones, file by file (checked at start)",
	"USERD_WEBHOOK_ALLOW_PRIVATE":        "1: webhook deliveries may reach loopback, private and link-local addresses (dev, tests; default 0)",
	"USERD_WEBHOOK_TIMEOUT":              "longest webhook delivery attempt (default 10s)",
	"USERD_WEBHOOK_RETRY_SCHEDULE":       "waits before each webhook retry, comma-separated (default 5s,30s,2m,10m,1h,3h,6h,12h,12h,12h,12h,12h: about 3 days)",
	"USERD_PASSWORD_GRANT":               "on: the OAuth password grant of the built-in client works (default on in dev, off in prod)",
}

// serveEnv is every variable serve reads, in the README's order.
var serveEnv = []string{
	"USERD_ENV", "DATABASE_URL", "USERD_ADDR", "USERD_PUBLIC_URL", "USERD_ISSUER", "USERD_AUDIENCE",
	"USERD_SIGNING_KEY_FILE", "USERD_IDP_ISSUER", "USERD_IDP_AUDIENCE", "USERD_IDP_JWKS_URL",
	"USERD_IDP_JWT_SECRET", "USERD_IDP_PROVIDER", "USERD_IDP_ADMIN_URL", "USERD_IDP_ADMIN_KEY",
	"USERD_DEFAULT_REGION", "USERD_SMTP_URL", "USERD_MAIL_FROM", "USERD_MAIL_TEMPLATES", "USERD_DATA_DIR", "USERD_LOG_LEVEL",
	"USERD_METRICS_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "USERD_DB_TIMEOUT", "USERD_HASH_CONCURRENCY", "USERD_IMAGE_CONCURRENCY", "USERD_TRUSTED_PROXIES", "USERD_LOGIN_LIMIT_PER_IP",
	"USERD_SIGNUP_LIMIT_PER_IP", "USERD_CORS_ORIGINS", "USERD_CACHE", "USERD_DB_POOLER", "USERD_LISTEN_DATABASE_URL",
	"USERD_MIGRATE_DATABASE_URL", "USERD_DATABASE_REPLICA_URL", "USERD_REPLICA_MAX_LAG",
	"USERD_SITE_URL", "USERD_REDIRECT_URLS", "USERD_BRAND_NAME", "USERD_BRAND_COLOR", "USERD_BRAND_LOGO_URL", "USERD_WEB_TEMPLATES",
	"USERD_WEBHOOK_ALLOW_PRIVATE", "USERD_WEBHOOK_TIMEOUT", "USERD_WEBHOOK_RETRY_SCHEDULE",
	"USERD_PASSWORD_GRANT",
}

var versionCommand = &command{
	name:     "version",
	summary:  "print the version",
	about:    "Prints the module version, the commit and the build date userd was built from\n(`make build` and `make release` stamp them from git), then the Go version and platform.",
	example:  "userd version",
	noConfig: true,
	run: func(_ context.Context, e cmdEnv, args []string) error {
		if err := noArgs("version", args); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, versionLine(readBuildInfo()))
		return nil
	},
}

var helpCommand = &command{
	name:     "help",
	args:     "[command]",
	summary:  "list the commands, or show one command's help",
	about:    "Lists the commands, or shows the help of one (the same as `userd <command> --help`).",
	example:  "userd help serve",
	noConfig: true,
	run: func(_ context.Context, e cmdEnv, args []string) error {
		switch len(args) {
		case 0:
			printCommandList(e.stdout)
			return nil
		case 1:
			if c := lookup(args[0]); c != nil {
				printHelp(e.stdout, c)
				return nil
			}
			return usageErrorf("help: unknown command %q", args[0])
		}
		return usageErrorf("help takes at most one command, got %q", args)
	},
}
