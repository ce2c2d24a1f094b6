package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/config"
	"github.com/userd/userd/idp"
)

// In dev with no IdP configured, userd trusts a built-in dev IdP: tokens
// signed with an HS256 secret kept in the data dir, which `userd dev-token`
// mints. It is never used in prod.
const (
	devIdPAudience = "authenticated"
	devIdPProvider = "dev"
)

func devIdPIssuer(cfg config.Config) string { return cfg.PublicURL + "/dev-idp" }

// devIdPSecret returns the dev IdP secret, creating it on first use.
func devIdPSecret(cfg config.Config) (string, error) {
	path := filepath.Join(cfg.DataDir, "dev-idp-secret")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return secret, nil
}

// idpConfig returns the verifier configuration of the external IdP (the
// configured one, or the dev IdP in dev) and the provider name, or nil.
func idpConfig(cfg config.Config) (*idp.Config, string, error) {
	if cfg.IdP.Enabled() {
		return &idp.Config{
			Issuer: cfg.IdP.Issuer, Audience: cfg.IdP.Audience, JWKSURL: cfg.IdP.JWKSURL, JWTSecret: cfg.IdP.JWTSecret,
		}, cfg.IdP.Provider, nil
	}
	if !cfg.Dev() {
		return nil, "", nil
	}
	secret, err := devIdPSecret(cfg)
	if err != nil {
		return nil, "", err
	}
	return &idp.Config{Issuer: devIdPIssuer(cfg), Audience: devIdPAudience, JWTSecret: secret}, devIdPProvider, nil
}

func devToken(cfg config.Config, args []string, stdout io.Writer) error {
	if !cfg.Dev() || cfg.IdP.Enabled() {
		return errors.New("dev-token works only in dev mode without USERD_IDP_ISSUER")
	}
	fs := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	sub := fs.String("sub", "", "subject (the IdP's user id); required")
	email := fs.String("email", "", "email claim")
	phone := fs.String("phone", "", "phone claim (digits, as Supabase sends it)")
	method := fs.String("method", "password", "amr method: password, otp, magiclink, oauth, anonymous")
	provider := fs.String("provider", "email", "app_metadata.provider")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("dev-token: --sub is required")
	}
	secret, err := devIdPSecret(cfg)
	if err != nil {
		return err
	}
	now := time.Now()
	tok, err := jwt.NewBuilder().
		Issuer(devIdPIssuer(cfg)).Audience([]string{devIdPAudience}).Subject(*sub).
		IssuedAt(now).Expiration(now.Add(*ttl)).
		Claim("email", *email).Claim("phone", *phone).
		Claim("app_metadata", map[string]any{"provider": *provider}).
		Claim("email_verified", *email != "").Claim("phone_verified", *phone != "").
		Claim("amr", []map[string]any{{"method": *method, "timestamp": now.Unix()}}).
		Build()
	if err != nil {
		return err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(secret)))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(signed))
	return nil
}
