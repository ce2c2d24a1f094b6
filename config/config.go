// Package config reads userd's configuration from the environment.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// Config is userd's whole configuration. See the README for each variable.
type Config struct {
	Env            string // "dev" or "prod"
	DatabaseURL    string // empty in dev: a local server is found or started
	Addr           string
	PublicURL      string
	Issuer         string // iss of the tokens userd signs
	Audience       string // aud of the tokens userd signs
	SigningKeyFile string
	DefaultRegion  string
	SMTPURL        string
	MailFrom       string
	DataDir        string
	IdP            IdP
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

// Dev reports whether userd runs in development mode.
func (c Config) Dev() bool { return c.Env == "dev" }

var region = regexp.MustCompile(`^[A-Z]{2}$`)

// Load reads the configuration through getenv (os.Getenv in production),
// applies defaults and checks it. In prod it refuses settings that only
// make sense in development.
func Load(getenv func(string) string) (Config, error) {
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Env:            get("USERD_ENV", "dev"),
		DatabaseURL:    get("DATABASE_URL", ""),
		Addr:           get("USERD_ADDR", ":8080"),
		PublicURL:      strings.TrimRight(get("USERD_PUBLIC_URL", "http://localhost:8080"), "/"),
		SigningKeyFile: get("USERD_SIGNING_KEY_FILE", ""),
		DefaultRegion:  strings.ToUpper(get("USERD_DEFAULT_REGION", "IN")),
		SMTPURL:        get("USERD_SMTP_URL", ""),
		MailFrom:       get("USERD_MAIL_FROM", "userd <no-reply@localhost>"),
		DataDir:        get("USERD_DATA_DIR", ".data"),
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
	if c.Env != "dev" && c.Env != "prod" {
		errs = append(errs, fmt.Errorf("USERD_ENV: got %q, want dev or prod", c.Env))
	}
	if !region.MatchString(c.DefaultRegion) {
		errs = append(errs, fmt.Errorf("USERD_DEFAULT_REGION: got %q, want an ISO 3166-1 alpha-2 code", c.DefaultRegion))
	}
	if _, err := url.Parse(c.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("USERD_PUBLIC_URL: %w", err))
	}
	if c.IdP.Issuer != "" && c.IdP.Audience == "" {
		errs = append(errs, errors.New("USERD_IDP_AUDIENCE is required with USERD_IDP_ISSUER"))
	}
	if (c.IdP.AdminURL == "") != (c.IdP.AdminKey == "") {
		errs = append(errs, errors.New("USERD_IDP_ADMIN_URL and USERD_IDP_ADMIN_KEY go together"))
	}
	if c.Env == "prod" {
		if c.DatabaseURL == "" {
			errs = append(errs, errors.New("DATABASE_URL is required in prod"))
		}
		if c.SigningKeyFile == "" {
			errs = append(errs, errors.New("USERD_SIGNING_KEY_FILE is required in prod"))
		}
		if c.SMTPURL == "" {
			errs = append(errs, errors.New("USERD_SMTP_URL is required in prod (mail carries reset and verification links)"))
		}
	}
	if c.SigningKeyFile == "" {
		c.SigningKeyFile = filepath.Join(c.DataDir, "signing-key.json")
	}
	return c, errors.Join(errs...)
}
