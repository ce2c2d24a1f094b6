// Package config reads userd's configuration from the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/password"
	"github.com/userd/userd/redact"
)

// Config is userd's whole configuration. See the README for each variable.
type Config struct {
	Env            string // "dev" or "prod"; unset means prod
	DatabaseURL    string // empty in dev: a local server is found or started
	Addr           string
	PublicURL      string
	Issuer         string // iss of the tokens userd signs
	Audience       string // aud of the tokens userd signs
	SigningKeyFile string
	DefaultRegion  string
	SMTPURL        string
	MailFrom       string
	MailTemplates  string // directory of templates replacing the embedded ones; "": none
	DataDir        string
	LogLevel       slog.Level
	// CORSOrigins are the browser origins that may call the API across
	// origins (USERD_CORS_ORIGINS): "https://app.example.com",
	// "https://*.example.com" or "*". None: no CORS headers at all.
	CORSOrigins []string
	MetricsAddr string // where /metrics is served instead of Addr; "": on Addr
	// SiteURL is the base of mailed links when the application serves its
	// own pages (USERD_SITE_URL); "": PublicURL, userd's hosted pages.
	SiteURL string
	// RedirectURLs are where pages may send the browser after an action
	// (USERD_REDIRECT_URLS): exact origins or origin + path prefixes.
	RedirectURLs []string
	Brand        Brand
	WebTemplates string // directory of page templates replacing the embedded ones; "": none
	Tracing      bool   // OTEL_EXPORTER_OTLP_ENDPOINT (or its _TRACES_ form) is set
	IdP          IdP
	Limits       Limits
	Webhooks     Webhooks
	// Cache is false with USERD_CACHE=off: no verified-token or principal
	// cache (every request verifies its token and reads its user).
	Cache bool
	// Scale is how the database is reached past one server: a pooler, a
	// replica.
	Scale Scale
	// PasswordGrant allows the OAuth password grant of the built-in
	// first-party client (USERD_PASSWORD_GRANT=on|off): on in dev, off in
	// prod unless set on.
	PasswordGrant bool

	given map[string]bool // the variables that were set (non-blank)
}

// Limits bound what one request or one client address may cost.
type Limits struct {
	// DBTimeout is the longest one request waits on the database (pool
	// acquire plus statements); past it the answer is 503 db_unavailable.
	DBTimeout time.Duration
	// HashConcurrency is how many argon2id runs go at once: half of
	// GOMAXPROCS (at least 1) by default.
	HashConcurrency int
	// ImageConcurrency is how many avatar uploads decode at once, each
	// within 64 MiB decoded: 1 by default.
	ImageConcurrency int
	// TrustedProxies are the peers whose X-Forwarded-For is read.
	TrustedProxies []netip.Prefix
	// LoginPerIP is failed logins per address per 15 minutes; 0: none.
	LoginPerIP int
	// SignupPerIP is registrations and forgot-password requests per
	// address per hour; 0: none.
	SignupPerIP int
}

// Scale configures a transaction-mode pooler in front of PostgreSQL and a
// streaming read replica.
type Scale struct {
	// Pooler is true with USERD_DB_POOLER=transaction: DATABASE_URL goes
	// through a pooler in transaction mode (PgBouncer), so connections keep
	// no session state between transactions.
	Pooler bool
	// ListenURL (USERD_LISTEN_DATABASE_URL) reaches PostgreSQL directly for
	// the LISTEN connection; "": DATABASE_URL.
	ListenURL string
	// MigrateURL (USERD_MIGRATE_DATABASE_URL) reaches PostgreSQL directly
	// for migrations (a session advisory lock); "": DATABASE_URL.
	MigrateURL string
	// ReplicaURL (USERD_DATABASE_REPLICA_URL) is a streaming replica for
	// the directory, audit log, profiles and lists; "": none.
	ReplicaURL string
	// ReplicaMaxLag (USERD_REPLICA_MAX_LAG) is the replay lag past which
	// those reads go to the primary.
	ReplicaMaxLag time.Duration
}

// IdP configures the external identity provider whose tokens userd accepts.
type IdP struct {
	Issuer    string
	Audience  string
	JWKSURL   string
	JWTSecret string // legacy HS256 secret, accepted besides the JWKS
	Provider  string // provider name recorded on identities
	AdminURL  string // admin API used for hard deletes
	AdminKey  string
}

// Enabled reports whether an external IdP is configured.
func (i IdP) Enabled() bool { return i.Issuer != "" }

// Brand is how the hosted pages present themselves.
type Brand struct {
	Name    string // USERD_BRAND_NAME: "userd"
	Color   string // USERD_BRAND_COLOR: #rgb or #rrggbb; "": the default blue
	LogoURL string // USERD_BRAND_LOGO_URL: an absolute http(s) image URL; "": none
}

// LinkBase is the base of mailed links: SiteURL, else PublicURL.
func (c Config) LinkBase() string {
	if c.SiteURL != "" {
		return c.SiteURL
	}
	return c.PublicURL
}

var brandColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Dev reports whether userd runs in development mode.
func (c Config) Dev() bool { return c.Env == "dev" }

// Given reports whether the environment variable name was set (and not
// blank), as opposed to taking its default.
func (c Config) Given(name string) bool { return c.given[name] }

// EnvSource says where Env came from, for messages: "USERD_ENV=prod", or
// "USERD_ENV is unset, which means prod".
func (c Config) EnvSource() string {
	if c.Given("USERD_ENV") {
		return "USERD_ENV=" + c.Env
	}
	return "USERD_ENV is unset, which means " + c.Env
}

// secretVars hold secrets by value; urlVars may carry a password.
var (
	secretVars = []string{"USERD_IDP_JWT_SECRET", "USERD_IDP_ADMIN_KEY"}
	urlVars    = []string{"DATABASE_URL", "USERD_SMTP_URL", "USERD_PUBLIC_URL", "USERD_ISSUER",
		"USERD_IDP_ISSUER", "USERD_IDP_JWKS_URL", "USERD_IDP_ADMIN_URL",
		"USERD_LISTEN_DATABASE_URL", "USERD_MIGRATE_DATABASE_URL", "USERD_DATABASE_REPLICA_URL",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}
)

// Redactor returns a redactor that knows the secrets in the environment
// (URL passwords, the IdP secret and admin key) besides removing any URL's
// password. It reads getenv directly, so it works even when Load fails.
func Redactor(getenv func(string) string) *redact.Redactor {
	var secrets []string
	for _, k := range urlVars {
		secrets = append(secrets, redact.URLPassword(strings.TrimSpace(getenv(k)))...)
	}
	for _, k := range secretVars {
		secrets = append(secrets, strings.TrimSpace(getenv(k)))
	}
	// The OTLP exporter's headers carry API keys: "k1=v1,k2=v2".
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, h := range strings.Split(getenv(k), ",") {
			if _, v, ok := strings.Cut(h, "="); ok && strings.TrimSpace(v) != "" {
				secrets = append(secrets, strings.TrimSpace(v))
			}
		}
	}
	return redact.New(secrets...)
}

var region = regexp.MustCompile(`^[A-Z]{2}$`)

// Load reads the configuration through getenv (os.Getenv in production),
// applies defaults and checks each value's form. What a command needs on
// top (CheckServe for serve) it checks itself, so that `migrate` in prod
// needs only DATABASE_URL. Errors quote no URL: a password could be in it.
// The Config is returned even with an error, for its Env.
func Load(getenv func(string) string) (Config, error) {
	given := map[string]bool{}
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			given[key] = true
			return v
		}
		return def
	}
	c := Config{
		given: given,
		// Unset means prod: a server started bare must not trust the dev
		// IdP or generate its own key. `make run` sets dev.
		Env:            get("USERD_ENV", "prod"),
		DatabaseURL:    get("DATABASE_URL", ""),
		Addr:           get("USERD_ADDR", ":8080"),
		PublicURL:      strings.TrimRight(get("USERD_PUBLIC_URL", "http://localhost:8080"), "/"),
		SigningKeyFile: get("USERD_SIGNING_KEY_FILE", ""),
		DefaultRegion:  strings.ToUpper(get("USERD_DEFAULT_REGION", "IN")),
		SMTPURL:        get("USERD_SMTP_URL", ""),
		MailFrom:       get("USERD_MAIL_FROM", "userd <no-reply@localhost>"),
		MailTemplates:  get("USERD_MAIL_TEMPLATES", ""),
		DataDir:        get("USERD_DATA_DIR", ".data"),
		MetricsAddr:    get("USERD_METRICS_ADDR", ""),
		SiteURL:        strings.TrimRight(get("USERD_SITE_URL", ""), "/"),
		WebTemplates:   get("USERD_WEB_TEMPLATES", ""),
		Brand: Brand{
			Name:    get("USERD_BRAND_NAME", "userd"),
			Color:   get("USERD_BRAND_COLOR", ""),
			LogoURL: get("USERD_BRAND_LOGO_URL", ""),
		},
	}
	for _, u := range strings.Split(get("USERD_REDIRECT_URLS", ""), ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.RedirectURLs = append(c.RedirectURLs, u)
		}
	}
	c.Issuer = get("USERD_ISSUER", c.PublicURL)
	c.Audience = get("USERD_AUDIENCE", "userd")
	c.IdP = IdP{
		// Kept exactly as given: iss is compared byte for byte, and some
		// issuers (Auth0) end in "/".
		Issuer:    get("USERD_IDP_ISSUER", ""),
		Audience:  get("USERD_IDP_AUDIENCE", ""),
		JWTSecret: get("USERD_IDP_JWT_SECRET", ""),
		Provider:  get("USERD_IDP_PROVIDER", "supabase"),
		AdminURL:  strings.TrimRight(get("USERD_IDP_ADMIN_URL", ""), "/"),
		AdminKey:  get("USERD_IDP_ADMIN_KEY", ""),
	}
	if c.IdP.Issuer != "" {
		c.IdP.JWKSURL = get("USERD_IDP_JWKS_URL", strings.TrimRight(c.IdP.Issuer, "/")+"/.well-known/jwks.json")
	}

	var errs []error
	var err error
	c.Limits, errs = loadLimits(get, c.Env)
	if c.Env != "dev" && c.Env != "prod" {
		errs = append(errs, fmt.Errorf("USERD_ENV: got %q, want dev or prod", c.Env))
	}
	if !region.MatchString(c.DefaultRegion) {
		errs = append(errs, fmt.Errorf("USERD_DEFAULT_REGION: got %q, want an ISO 3166-1 alpha-2 code", c.DefaultRegion))
	}
	if err := checkURL(c.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("USERD_PUBLIC_URL: %w", err))
	}
	if c.SiteURL != "" {
		if err := checkURL(c.SiteURL); err != nil {
			errs = append(errs, fmt.Errorf("USERD_SITE_URL: %w", err))
		}
	}
	if c.Brand.LogoURL != "" {
		if err := checkURL(c.Brand.LogoURL); err != nil {
			errs = append(errs, fmt.Errorf("USERD_BRAND_LOGO_URL: %w", err))
		}
	}
	if c.Brand.Color != "" && !brandColor.MatchString(c.Brand.Color) {
		errs = append(errs, fmt.Errorf("USERD_BRAND_COLOR: got %q, want #rgb or #rrggbb", c.Brand.Color))
	}
	switch v := get("USERD_CACHE", "on"); v {
	case "on":
		c.Cache = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("USERD_CACHE: got %q, want on or off", v))
	}
	switch level := strings.ToLower(get("USERD_LOG_LEVEL", "info")); level {
	case "debug", "info", "warn", "error":
		_ = c.LogLevel.UnmarshalText([]byte(level))
	default:
		errs = append(errs, fmt.Errorf("USERD_LOG_LEVEL: got %q, want debug, info, warn or error", level))
	}
	if c.CORSOrigins, err = corsOrigins(get("USERD_CORS_ORIGINS", "")); err != nil {
		errs = append(errs, fmt.Errorf("USERD_CORS_ORIGINS: %w", err))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("USERD_METRICS_ADDR: got %q, want host:port such as 127.0.0.1:9090", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, errors.New("USERD_METRICS_ADDR: the same as USERD_ADDR; leave it unset to serve /metrics there"))
		}
	}
	switch v := get("USERD_PASSWORD_GRANT", map[bool]string{true: "on", false: "off"}[c.Env == "dev"]); v {
	case "on":
		c.PasswordGrant = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("USERD_PASSWORD_GRANT: got %q, want on or off", v))
	}
	c.Tracing, errs = loadTracing(get, errs)
	c.Scale, errs = loadScale(get, c.DatabaseURL, errs)
	c.Webhooks, errs = loadWebhooks(get, errs)
	if c.IdP.Issuer != "" && c.IdP.Audience == "" {
		errs = append(errs, errors.New("USERD_IDP_AUDIENCE is required with USERD_IDP_ISSUER"))
	}
	if (c.IdP.AdminURL == "") != (c.IdP.AdminKey == "") {
		errs = append(errs, errors.New("USERD_IDP_ADMIN_URL and USERD_IDP_ADMIN_KEY go together"))
	}
	if c.SigningKeyFile == "" {
		c.SigningKeyFile = filepath.Join(c.DataDir, "signing-key.json")
	}
	return c, errors.Join(errs...)
}

// loadScale reads USERD_DB_POOLER, USERD_LISTEN_DATABASE_URL,
// USERD_MIGRATE_DATABASE_URL (both default to dbURL),
// USERD_DATABASE_REPLICA_URL and USERD_REPLICA_MAX_LAG (default 1s).
func loadScale(get func(key, def string) string, dbURL string, errs []error) (Scale, []error) {
	s := Scale{
		ListenURL:  get("USERD_LISTEN_DATABASE_URL", dbURL),
		MigrateURL: get("USERD_MIGRATE_DATABASE_URL", dbURL),
		ReplicaURL: get("USERD_DATABASE_REPLICA_URL", ""),
	}
	switch v := get("USERD_DB_POOLER", "none"); v {
	case "transaction":
		s.Pooler = true
	case "none", "session":
	default:
		errs = append(errs, fmt.Errorf("USERD_DB_POOLER: got %q, want transaction (a transaction-mode pooler such as PgBouncer), session or none", v))
	}
	v := get("USERD_REPLICA_MAX_LAG", "1s")
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("USERD_REPLICA_MAX_LAG: got %q, want a positive duration such as 1s", v))
	} else {
		s.ReplicaMaxLag = d
	}
	return s, errs
}

// loadTracing reads whether traces are exported: when the OTLP endpoint
// is set (for all signals or for traces), over OTLP/HTTP with protobuf, the
// one protocol userd speaks. The exporter reads the rest of the OTEL_*
// variables itself.
func loadTracing(get func(key, def string) string, errs []error) (bool, []error) {
	on := false
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if v := get(k, ""); v != "" {
			on = true
			if err := checkURL(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
		}
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := get(k, "http/protobuf"); v != "http/protobuf" {
			errs = append(errs, fmt.Errorf("%s: got %q, want http/protobuf (OTLP over HTTP, port 4318)", k, v))
		}
	}
	return on, errs
}

// checkURL parses an absolute http(s) URL without quoting it back: the
// error of url.Parse holds the whole URL, password included.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("not a URL: %w", uerr.Err)
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http or https URL")
	}
	return nil
}

// corsOrigins parses a comma-separated list of browser origins: each a
// scheme (http or https) and host with an optional port and nothing else
// (no path, not even "/": browsers send none), where the host may start
// with "*." for any subdomain; or "*" alone for every origin. They are
// lower-cased, as browsers send them.
func corsOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "":
			continue
		case o == "*":
		default:
			if err := checkOrigin(o); err != nil {
				return nil, fmt.Errorf("got %q: %w", o, err)
			}
		}
		out = append(out, o)
	}
	if len(out) > 1 && slices.Contains(out, "*") {
		return nil, errors.New(`"*" allows every origin: give it alone`)
	}
	return out, nil
}

// checkOrigin checks one origin of USERD_CORS_ORIGINS other than "*".
func checkOrigin(o string) error {
	const want = "want an origin such as https://app.example.com, http://localhost:3000 or https://*.example.com"
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return errors.New(want)
	}
	host := strings.TrimPrefix(rest, "*.")
	u, err := url.Parse(scheme + "://" + host)
	if err != nil || u.Host != host || u.Hostname() == "" || strings.ContainsAny(host, "*/?#@") || strings.HasSuffix(host, ":") {
		return fmt.Errorf("%s: scheme, host and port only, with no path (not even a trailing /)", want)
	}
	return nil
}

// CheckServe reports what `userd serve` lacks in prod: a database, a
// signing key, mail and the public URL that issuer and mailed links are
// built from. In dev it returns nil.
func (c Config) CheckServe() error {
	if c.Dev() {
		return nil
	}
	var errs []error
	if !c.Given("DATABASE_URL") {
		errs = append(errs, errors.New("DATABASE_URL is required in prod"))
	}
	if !c.Given("USERD_SIGNING_KEY_FILE") {
		errs = append(errs, errors.New("USERD_SIGNING_KEY_FILE is required in prod (make one with `userd keygen -o FILE`)"))
	}
	if !c.Given("USERD_SMTP_URL") {
		errs = append(errs, errors.New("USERD_SMTP_URL is required in prod (mail carries reset and verification links)"))
	}
	if !c.Given("USERD_PUBLIC_URL") {
		errs = append(errs, errors.New("USERD_PUBLIC_URL is required in prod (the issuer and mailed links are built from it)"))
	} else if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme == "http" && !loopback(u.Hostname()) {
		errs = append(errs, errors.New("USERD_PUBLIC_URL: http:// is refused in prod unless the host is loopback (mailed reset links and tokens would cross the network in the clear): serve userd behind TLS and give its https:// URL"))
	}
	if !c.Given("USERD_MAIL_FROM") {
		errs = append(errs, errors.New("USERD_MAIL_FROM is required in prod (the sender of every mail, an address of your domain such as \"Example <no-reply@example.com>\")"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", c.EnvSource(), err)
	}
	return nil
}

// loopback reports whether host names this machine: localhost, or an
// address in 127.0.0.0/8 or ::1.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// Warnings are settings that work but are likely mistakes, for serve to
// log at start.
func (c Config) Warnings() []string {
	var w []string
	if c.Given("USERD_ISSUER") && c.Issuer != c.PublicURL {
		w = append(w, "USERD_ISSUER differs from USERD_PUBLIC_URL: clients look for the discovery document at <USERD_ISSUER>/.well-known/openid-configuration, "+
			"but userd serves it under USERD_PUBLIC_URL, so OIDC libraries will not find it from the issuer unless a proxy serves it there")
	}
	return w
}

// MetricsOnAddr reports whether GET /metrics is served on USERD_ADDR: in
// dev when USERD_METRICS_ADDR is unset. In prod metrics are served only on
// USERD_METRICS_ADDR, never on the public listener.
func (c Config) MetricsOnAddr() bool { return c.Dev() && c.MetricsAddr == "" }

// loadLimits reads the USERD_DB_TIMEOUT, USERD_HASH_CONCURRENCY,
// USERD_IMAGE_CONCURRENCY, USERD_TRUSTED_PROXIES and USERD_*_LIMIT_PER_IP
// variables. The signup
// limit is on by default in prod only: local development and test suites
// register many users from one address.
func loadLimits(get func(key, def string) string, env string) (Limits, []error) {
	var errs []error
	l := Limits{DBTimeout: 5 * time.Second, HashConcurrency: password.DefaultConcurrency(), ImageConcurrency: 1, LoginPerIP: 20}
	if env == "prod" {
		l.SignupPerIP = 20
	}
	if v := get("USERD_DB_TIMEOUT", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("USERD_DB_TIMEOUT: got %q, want a positive duration such as 5s", v))
		}
		l.DBTimeout = d
	}
	count := func(key, v string, dst *int, least int) {
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			errs = append(errs, fmt.Errorf("%s: got %q, want a whole number ≥ %d", key, v, least))
			return
		}
		*dst = n
	}
	count("USERD_HASH_CONCURRENCY", get("USERD_HASH_CONCURRENCY", ""), &l.HashConcurrency, 1)
	count("USERD_IMAGE_CONCURRENCY", get("USERD_IMAGE_CONCURRENCY", ""), &l.ImageConcurrency, 1)
	count("USERD_LOGIN_LIMIT_PER_IP", get("USERD_LOGIN_LIMIT_PER_IP", ""), &l.LoginPerIP, 0)
	count("USERD_SIGNUP_LIMIT_PER_IP", get("USERD_SIGNUP_LIMIT_PER_IP", ""), &l.SignupPerIP, 0)
	for _, f := range strings.Split(get("USERD_TRUSTED_PROXIES", ""), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("USERD_TRUSTED_PROXIES: got %q, want CIDRs such as 10.0.0.0/8", f))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		l.TrustedProxies = append(l.TrustedProxies, p.Masked())
	}
	return l, errs
}
