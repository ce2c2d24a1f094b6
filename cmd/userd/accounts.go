package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

// signingKeys loads the keys userd signs its access tokens with. In dev a
// missing key file is generated; in prod it must exist and be accessible
// to its owner only.
func signingKeys(cfg config.Config) (*signing.KeySet, error) {
	if cfg.Dev() {
		return signing.LoadOrGenerate(cfg.SigningKeyFile)
	}
	st, err := os.Stat(cfg.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("USERD_SIGNING_KEY_FILE: %w (make one with `userd keygen -o FILE`)", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("USERD_SIGNING_KEY_FILE %s has mode %04o: group or others may read it; "+
			"run `chmod 600 %s` (prod accepts a signing key only its owner can access)", cfg.SigningKeyFile, perm, cfg.SigningKeyFile)
	}
	return signing.Load(cfg.SigningKeyFile)
}

// accounts wires the local accounts and the verifier of their tokens.
func accounts(db *service.DB, cfg config.Config, keys *signing.KeySet) (*service.Accounts, service.LocalVerifier, error) {
	hasher, err := password.NewHasher(password.DefaultParams)
	if err != nil {
		return nil, nil, err
	}
	dataKeys, err := service.ParseDataKeys(cfg.DataKey)
	if err != nil {
		return nil, nil, fmt.Errorf("USERD_DATA_KEY: %w", err)
	}
	a := service.NewAccounts(db, service.AccountsConfig{
		Keys: keys, Hasher: hasher, Issuer: cfg.Issuer, Audience: cfg.Audience, DataKeys: dataKeys,
		PublicURL: cfg.LinkBase(), DefaultRegion: cfg.DefaultRegion,
		Gate: password.NewGate(password.GateConfig{Concurrency: cfg.Limits.HashConcurrency}),
	})
	a.Limits.PerIP = cfg.Limits.LoginPerIP
	a.Signups.PerIP = cfg.Limits.SignupPerIP
	return a, service.NewLocalVerifier(keys, cfg.Issuer, cfg.Audience), nil
}

// mailer sends through USERD_SMTP_URL, or prints mail to out (the log's
// stream) when it is unset (dev).
func mailer(cfg config.Config, log *slog.Logger, out io.Writer) (service.Mailer, error) {
	if cfg.SMTPURL == "" {
		return &logMailer{log: log, out: out, from: cfg.MailFrom, now: time.Now}, nil
	}
	return mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
}
