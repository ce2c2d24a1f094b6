package config

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/password"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	if c.Env != "prod" || c.Dev() || c.Addr != ":8080" || c.DefaultRegion != "IN" || c.Audience != "userd" ||
		c.Issuer != "http://localhost:8080" || c.LogLevel != slog.LevelInfo {
		t.Fatalf("got %+v, want the documented defaults (prod when USERD_ENV is unset)", c)
	}
	if got, want := c.EnvSource(), "USERD_ENV is unset, which means prod"; got != want {
		t.Fatalf("EnvSource: got %q, want %q", got, want)
	}
	if c.IdP.Enabled() {
		t.Fatal("got an IdP enabled with nothing configured, want none")
	}
	d, err := Load(env(map[string]string{"USERD_ENV": "dev", "USERD_LOG_LEVEL": "debug"}))
	if err != nil || !d.Dev() || d.EnvSource() != "USERD_ENV=dev" || d.LogLevel != slog.LevelDebug {
		t.Fatalf("USERD_ENV=dev: got %+v, %v, want dev at debug", d, err)
	}
}

func TestLoadIdP(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"USERD_IDP_ISSUER":   "https://ref.supabase.co/auth/v1/",
		"USERD_IDP_AUDIENCE": "authenticated",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.IdP.JWKSURL, "https://ref.supabase.co/auth/v1/.well-known/jwks.json"; got != want {
		t.Fatalf("JWKS URL: got %q, want %q", got, want)
	}
	if got, want := c.IdP.Issuer, "https://ref.supabase.co/auth/v1/"; got != want {
		t.Fatalf("issuer: got %q, want %q (kept as given)", got, want)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"USERD_ENV":                 {"USERD_ENV": "staging"},
		"USERD_DEFAULT_REGION":      {"USERD_DEFAULT_REGION": "India"},
		"USERD_IDP_AUDIENCE":        {"USERD_IDP_ISSUER": "https://x"},
		"go together":               {"USERD_IDP_ADMIN_URL": "https://x"},
		"USERD_LOG_LEVEL":           {"USERD_LOG_LEVEL": "loud"},
		"USERD_PUBLIC_URL":          {"USERD_PUBLIC_URL": "example.com"},
		"USERD_DB_TIMEOUT":          {"USERD_DB_TIMEOUT": "5"},
		"USERD_HASH_CONCURRENCY":    {"USERD_HASH_CONCURRENCY": "0"},
		"USERD_IMAGE_CONCURRENCY":   {"USERD_IMAGE_CONCURRENCY": "0"},
		"USERD_LOGIN_LIMIT_PER_IP":  {"USERD_LOGIN_LIMIT_PER_IP": "-1"},
		"USERD_SIGNUP_LIMIT_PER_IP": {"USERD_SIGNUP_LIMIT_PER_IP": "many"},
		"USERD_TRUSTED_PROXIES":     {"USERD_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"},
		"USERD_SITE_URL":            {"USERD_SITE_URL": "app.example.com"},
		"USERD_BRAND_COLOR":         {"USERD_BRAND_COLOR": "red"},
		"USERD_BRAND_LOGO_URL":      {"USERD_BRAND_LOGO_URL": "javascript:alert(1)"},
		"USERD_DB_POOLER":           {"USERD_DB_POOLER": "statement"},
		"USERD_REPLICA_MAX_LAG":     {"USERD_REPLICA_MAX_LAG": "1"},
	}
	for want, m := range cases {
		_, err := Load(env(m))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%v): got %v, want an error mentioning %q", m, err, want)
		}
	}
}

func TestLoadPages(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"USERD_PUBLIC_URL": "https://id.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LinkBase() != "https://id.example.com" || c.Brand.Name != "userd" || len(c.RedirectURLs) != 0 {
		t.Fatalf("defaults: link base %q, brand %q, redirects %v", c.LinkBase(), c.Brand.Name, c.RedirectURLs)
	}
	c, err = Load(env(map[string]string{"USERD_PUBLIC_URL": "https://id.example.com", "USERD_SITE_URL": "https://app.example.com/",
		"USERD_REDIRECT_URLS": "https://app.example.com, https://shop.example.com/done", "USERD_BRAND_COLOR": "#0a7"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LinkBase() != "https://app.example.com" || len(c.RedirectURLs) != 2 || c.Brand.Color != "#0a7" {
		t.Fatalf("got link base %q, redirects %v, colour %q", c.LinkBase(), c.RedirectURLs, c.Brand.Color)
	}
}

func TestLoadQuotesNoPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://u:s3cretpw@host:port/", "https://u:s3cretpw@[::1/", "https://u:s3cret%zzpw@h/"} {
		_, err := Load(env(map[string]string{"USERD_PUBLIC_URL": u}))
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("USERD_PUBLIC_URL=%q: got %v, want an error without the password", u, err)
		}
	}
}

func TestCheckServe(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		"DATABASE_URL": "postgres://x", "USERD_SIGNING_KEY_FILE": "k", "USERD_SMTP_URL": "smtp://x",
		"USERD_PUBLIC_URL": "https://id.example.com", "USERD_MAIL_FROM": "Example <no-reply@example.com>",
	}
	c, err := Load(env(full))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckServe(); err != nil {
		t.Fatalf("prod with everything: got %v, want nil", err)
	}
	for missing, want := range map[string]string{
		"DATABASE_URL":           "DATABASE_URL is required",
		"USERD_SIGNING_KEY_FILE": "userd keygen",
		"USERD_SMTP_URL":         "USERD_SMTP_URL is required",
		"USERD_PUBLIC_URL":       "USERD_PUBLIC_URL is required",
		"USERD_MAIL_FROM":        "USERD_MAIL_FROM is required",
	} {
		m := map[string]string{}
		for k, v := range full {
			if k != missing {
				m[k] = v
			}
		}
		c, err := Load(env(m))
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckServe()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "USERD_ENV is unset, which means prod") {
			t.Errorf("prod without %s: got %v, want an error mentioning %q and where prod came from", missing, err, want)
		}
	}
	dev, _ := Load(env(map[string]string{"USERD_ENV": "dev"}))
	if err := dev.CheckServe(); err != nil {
		t.Fatalf("dev with nothing: got %v, want nil", err)
	}
}

// TestCheckServePublicURL: prod refuses an http:// public URL (mailed
// links and tokens would cross the network in the clear) unless its host
// is this machine.
func TestCheckServePublicURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://id.example.com":           true,
		"http://localhost:8080":            true,
		"http://LOCALHOST":                 true,
		"http://127.0.0.1:8080":            true,
		"http://127.1.2.3":                 true,
		"http://[::1]:8080":                true,
		"http://id.example.com":            false,
		"http://10.0.0.5:8080":             false,
		"http://localhost.example.com":     false,
		"http://u:s3cretpw@id.example.com": false,
	} {
		c, err := Load(env(map[string]string{
			"DATABASE_URL": "postgres://x", "USERD_SIGNING_KEY_FILE": "k", "USERD_SMTP_URL": "smtp://x",
			"USERD_MAIL_FROM": "no-reply@example.com", "USERD_PUBLIC_URL": u,
		}))
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckServe()
		if ok != (err == nil) || (err != nil && (!strings.Contains(err.Error(), "http:// is refused in prod") || strings.Contains(err.Error(), "s3cret"))) {
			t.Errorf("prod with USERD_PUBLIC_URL=%s: got %v, want ok=%v (a refusal naming http:// without the password)", u, err, ok)
		}
		dev, _ := Load(env(map[string]string{"USERD_ENV": "dev", "USERD_PUBLIC_URL": u}))
		if err := dev.CheckServe(); err != nil {
			t.Errorf("dev with USERD_PUBLIC_URL=%s: got %v, want nil", u, err)
		}
	}
}

// TestWarningsAndMetrics: an issuer other than the public URL is warned
// about; /metrics is on USERD_ADDR only in dev without USERD_METRICS_ADDR.
func TestWarningsAndMetrics(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env       map[string]string
		warn      bool
		metricsOn bool
	}{
		{map[string]string{"USERD_PUBLIC_URL": "https://id.example.com"}, false, false},
		{map[string]string{"USERD_PUBLIC_URL": "https://id.example.com", "USERD_ISSUER": "https://id.example.com"}, false, false},
		{map[string]string{"USERD_PUBLIC_URL": "https://id.example.com", "USERD_ISSUER": "https://auth.example.com"}, true, false},
		{map[string]string{"USERD_PUBLIC_URL": "https://id.example.com", "USERD_METRICS_ADDR": "127.0.0.1:9090"}, false, false},
		{map[string]string{"USERD_ENV": "dev"}, false, true},
		{map[string]string{"USERD_ENV": "dev", "USERD_ISSUER": "urn:mine"}, true, true},
		{map[string]string{"USERD_ENV": "dev", "USERD_METRICS_ADDR": "127.0.0.1:9090"}, false, false},
	} {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.Warnings()
		if got := len(w) == 1 && strings.Contains(w[0], "USERD_ISSUER differs from USERD_PUBLIC_URL"); got != c.warn || (!c.warn && len(w) != 0) {
			t.Errorf("%v: got warnings %q, want the issuer warning: %v", c.env, w, c.warn)
		}
		if got := cfg.MetricsOnAddr(); got != c.metricsOn {
			t.Errorf("%v: MetricsOnAddr() = %v, want %v", c.env, got, c.metricsOn)
		}
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := Redactor(env(map[string]string{
		"DATABASE_URL":        "postgres://u:pass word@db/app", // unparsable: a space
		"USERD_IDP_ADMIN_KEY": "service-role-key",
	}))
	got := r.String(`parse "postgres://u:pass word@db/app": invalid; key service-role-key`)
	if strings.Contains(got, "pass word") || strings.Contains(got, "service-role-key") {
		t.Fatalf("got %q, want the configured secrets gone", got)
	}
}

func TestLoadLimits(t *testing.T) {
	t.Parallel()
	dev, err := Load(env(map[string]string{"USERD_ENV": "dev"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.Limits; got.DBTimeout != 5*time.Second || got.HashConcurrency != password.DefaultConcurrency() || got.ImageConcurrency != 1 ||
		got.LoginPerIP != 20 || got.SignupPerIP != 0 || len(got.TrustedProxies) != 0 {
		t.Fatalf("dev defaults: got %+v, want 5s, half of GOMAXPROCS, 1 image, 20 logins, no signup limit, no proxies", got)
	}
	prod, err := Load(env(map[string]string{"USERD_ENV": "prod", "DATABASE_URL": "postgres://x", "USERD_SIGNING_KEY_FILE": "k", "USERD_SMTP_URL": "smtp://x"}))
	if err != nil {
		t.Fatal(err)
	}
	if prod.Limits.SignupPerIP != 20 {
		t.Fatalf("prod signup limit: got %d, want 20", prod.Limits.SignupPerIP)
	}
	set, err := Load(env(map[string]string{
		"USERD_DB_TIMEOUT": "750ms", "USERD_HASH_CONCURRENCY": "3", "USERD_IMAGE_CONCURRENCY": "2", "USERD_LOGIN_LIMIT_PER_IP": "0",
		"USERD_SIGNUP_LIMIT_PER_IP": "7", "USERD_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")}
	if got := set.Limits; got.DBTimeout != 750*time.Millisecond || got.HashConcurrency != 3 || got.ImageConcurrency != 2 || got.LoginPerIP != 0 ||
		got.SignupPerIP != 7 || !slices.Equal(got.TrustedProxies, want) {
		t.Fatalf("set: got %+v, want 750ms, 3, 2, 0, 7, %v", got, want)
	}
}

// TestLoadCORSOrigins: USERD_CORS_ORIGINS is a comma list of origins as
// browsers send them; unset is none, and a value that no browser could
// send as its Origin fails at start, naming itself.
func TestLoadCORSOrigins(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil || c.CORSOrigins != nil {
		t.Fatalf("unset: got %v (%v), want no origins", c.CORSOrigins, err)
	}
	for in, want := range map[string][]string{
		"https://app.example.com":                                     {"https://app.example.com"},
		" https://App.Example.com , http://localhost:3000,,":          {"https://app.example.com", "http://localhost:3000"},
		"https://*.example.com,http://[::1]:8080,http://127.0.0.1:80": {"https://*.example.com", "http://[::1]:8080", "http://127.0.0.1:80"},
		"*": {"*"},
		" ": nil,
	} {
		c, err := Load(env(map[string]string{"USERD_CORS_ORIGINS": in}))
		if err != nil || !slices.Equal(c.CORSOrigins, want) {
			t.Errorf("USERD_CORS_ORIGINS=%q: got %q (%v), want %q", in, c.CORSOrigins, err, want)
		}
	}
	for _, bad := range []string{
		"https://app.example.com/", "https://app.example.com/path", "app.example.com", "ftp://example.com", "https://",
		"https://app.example.com?x=1", "https://user@app.example.com", "https://app.*.com", "https://*", "https://app.example.com:",
		"*, https://app.example.com", "https://app.example.com#top", "null",
	} {
		_, err := Load(env(map[string]string{"USERD_CORS_ORIGINS": bad}))
		if err == nil || !strings.Contains(err.Error(), "USERD_CORS_ORIGINS") {
			t.Errorf("USERD_CORS_ORIGINS=%q: got %v, want an error naming USERD_CORS_ORIGINS", bad, err)
		}
	}
}

func TestLoadObservability(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"USERD_LOG_LEVEL": "WARN", "USERD_METRICS_ADDR": "127.0.0.1:9090",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
	}))
	if err != nil || c.LogLevel != slog.LevelWarn || c.MetricsAddr != "127.0.0.1:9090" || !c.Tracing {
		t.Fatalf("got level %v, metrics %q, tracing %v, %v; want warn, 127.0.0.1:9090, on", c.LogLevel, c.MetricsAddr, c.Tracing, err)
	}
	if c, err := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example.com/v1/traces"})); err != nil || !c.Tracing {
		t.Fatalf("the traces endpoint alone: got tracing %v, %v; want on", c.Tracing, err)
	}
	if c, _ := Load(env(nil)); c.Tracing || c.MetricsAddr != "" {
		t.Fatalf("nothing set: got tracing %v, metrics %q; want off and on the public address", c.Tracing, c.MetricsAddr)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"USERD_LOG_LEVEL": "info+2"}, "USERD_LOG_LEVEL"},
		{map[string]string{"USERD_LOG_LEVEL": "-4"}, "USERD_LOG_LEVEL"},
		{map[string]string{"USERD_LOG_LEVEL": "verbose"}, "USERD_LOG_LEVEL"},
		{map[string]string{"USERD_METRICS_ADDR": "9090"}, "USERD_METRICS_ADDR"},
		{map[string]string{"USERD_METRICS_ADDR": "127.0.0.1:"}, "USERD_METRICS_ADDR"},
		{map[string]string{"USERD_METRICS_ADDR": ":8080"}, "USERD_METRICS_ADDR"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel-collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
	} {
		if _, err := Load(env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v): got %v, want an error naming %s", c.env, err, c.want)
		}
	}
}

func TestRedactorKnowsOTLPHeaders(t *testing.T) {
	t.Parallel()
	r := Redactor(env(map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-honeycomb-team=hc-secret-key,x-other=another-secret"}))
	if got := r.String("export failed with hc-secret-key and another-secret"); strings.Contains(got, "hc-secret-key") || strings.Contains(got, "another-secret") {
		t.Fatalf("got %q, want the header values redacted", got)
	}
}

// TestLoadScale: the pooler and replica settings, and the direct URLs'
// default of DATABASE_URL.
func TestLoadScale(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"DATABASE_URL": "postgres://bouncer/userd"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Scale{ListenURL: "postgres://bouncer/userd", MigrateURL: "postgres://bouncer/userd", ReplicaMaxLag: time.Second}
	if c.Scale != want {
		t.Errorf("defaults: got %+v, want %+v", c.Scale, want)
	}
	c, err = Load(env(map[string]string{
		"DATABASE_URL": "postgres://bouncer/userd", "USERD_DB_POOLER": "transaction",
		"USERD_LISTEN_DATABASE_URL": "postgres://pg/userd", "USERD_MIGRATE_DATABASE_URL": "postgres://pg/userd?x=1",
		"USERD_DATABASE_REPLICA_URL": "postgres://replica/userd", "USERD_REPLICA_MAX_LAG": "250ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want = Scale{Pooler: true, ListenURL: "postgres://pg/userd", MigrateURL: "postgres://pg/userd?x=1",
		ReplicaURL: "postgres://replica/userd", ReplicaMaxLag: 250 * time.Millisecond}
	if c.Scale != want {
		t.Errorf("set: got %+v, want %+v", c.Scale, want)
	}
}
