package config

import (
	"strings"
	"testing"
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
	if c.Env != "dev" || c.Addr != ":8080" || c.DefaultRegion != "IN" || c.Audience != "userd" || c.Issuer != "http://localhost:8080" {
		t.Fatalf("got %+v, want the documented defaults", c)
	}
	if c.IdP.Enabled() {
		t.Fatal("got an IdP enabled with nothing configured, want none")
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
		"USERD_ENV":                          {"USERD_ENV": "staging"},
		"USERD_DEFAULT_REGION":               {"USERD_DEFAULT_REGION": "India"},
		"USERD_IDP_AUDIENCE":                 {"USERD_IDP_ISSUER": "https://x"},
		"go together":                        {"USERD_IDP_ADMIN_URL": "https://x"},
		"USERD_SIGNING_KEY_FILE is required": {"USERD_ENV": "prod", "DATABASE_URL": "postgres://x", "USERD_SMTP_URL": "smtp://x"},
		"DATABASE_URL is required":           {"USERD_ENV": "prod", "USERD_SIGNING_KEY_FILE": "k", "USERD_SMTP_URL": "smtp://x"},
	}
	for want, m := range cases {
		_, err := Load(env(m))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%v): got %v, want an error mentioning %q", m, err, want)
		}
	}
}
