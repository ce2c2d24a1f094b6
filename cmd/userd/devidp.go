package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
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
// mints. It is never used in prod. Its issuer is fixed, not derived from
// USERD_PUBLIC_URL, so dev-token's tokens work whatever that is set to.
const (
	devIdPIssuer   = "urn:userd:dev-idp"
	devIdPAudience = "authenticated"
	devIdPProvider = "dev"
)

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
	return &idp.Config{Issuer: devIdPIssuer, Audience: devIdPAudience, JWTSecret: secret}, devIdPProvider, nil
}

var devTokenCommand = &command{
	name:    "dev-token",
	args:    "--sub SUBJECT [flags]",
	summary: "mint a token of the built-in dev IdP (dev only): --sub, --email, --phone",
	about: `Prints a token of the built-in dev IdP, which a dev server without
USERD_IDP_ISSUER trusts: HS256 with the secret in USERD_DATA_DIR/dev-idp-secret
(created on first use), issuer ` + devIdPIssuer + `, audience ` + devIdPAudience + `, and
Supabase's claim shape. The first request with a new --sub creates the user.`,
	flags: []flagSection{{declare: func(fs *flag.FlagSet) { new(devTokenFlags).declare(fs) }}},
	env:   []string{"USERD_ENV", "USERD_IDP_ISSUER", "USERD_DATA_DIR"},
	example: `TOKEN=$(USERD_ENV=dev userd dev-token --sub alice --email alice@example.com)
curl -s -H "Authorization: Bearer $TOKEN" localhost:8080/api/v1/users/me`,
	devOnly: true,
	run:     devToken,
}

// devTokenFlags are dev-token's flags.
type devTokenFlags struct {
	sub, email, phone, method, provider string
	ttl                                 time.Duration
}

func (f *devTokenFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.sub, "sub", "", "subject (the IdP's user id); required")
	fs.StringVar(&f.email, "email", "", "email claim (marked verified)")
	fs.StringVar(&f.phone, "phone", "", "phone claim: international digits without +, as Supabase sends it (marked verified)")
	fs.StringVar(&f.method, "method", "password", "amr method: password, otp, magiclink, oauth, anonymous")
	fs.StringVar(&f.provider, "provider", "email", "app_metadata.provider")
	fs.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime")
}

func devToken(_ context.Context, e cmdEnv, args []string) error {
	cfg := e.cfg
	var f devTokenFlags
	if err := parseFlagsNoArgs("dev-token", args, f.declare); err != nil {
		return err
	}
	if f.sub == "" {
		return usageErrorf("dev-token: --sub is required (see `userd dev-token --help`)")
	}
	if cfg.IdP.Enabled() {
		return errors.New("dev-token: USERD_IDP_ISSUER is set, so the server trusts that IdP, not the dev IdP")
	}
	secret, err := devIdPSecret(cfg)
	if err != nil {
		return err
	}
	now := time.Now()
	tok, err := jwt.NewBuilder().
		Issuer(devIdPIssuer).Audience([]string{devIdPAudience}).Subject(f.sub).
		IssuedAt(now).Expiration(now.Add(f.ttl)).
		Claim("email", f.email).Claim("phone", f.phone).
		Claim("app_metadata", map[string]any{"provider": f.provider}).
		Claim("email_verified", f.email != "").Claim("phone_verified", f.phone != "").
		Claim("amr", []map[string]any{{"method": f.method, "timestamp": now.Unix()}}).
		Build()
	if err != nil {
		return err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(secret)))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(signed))
	return nil
}
