package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/userd/userd/signing"
)

var keygenCommand = &command{
	name:    "keygen",
	args:    "[-o FILE] [--alg ES256|EdDSA|RS256]",
	summary: "generate a private signing key (a JWK with a kid) for USERD_SIGNING_KEY_FILE",
	about: `Generates a private key for the access tokens userd signs, as a JWK with
its kid (the RFC 7638 thumbprint), alg and use. With -o it writes the file
with mode 0600 (never replacing one) and prints only the kid and the path;
without -o it prints the private JWK itself on stdout.

To rotate: put the new key first and the old one after it in a JWK Set
({"keys": [new, old]}); tokens signed with the old key stay valid until
they expire.`,
	flags:    []flagSection{{declare: func(fs *flag.FlagSet) { new(keygenFlags).declare(fs) }}},
	example:  "userd keygen -o /etc/userd/signing.json && export USERD_SIGNING_KEY_FILE=/etc/userd/signing.json",
	noConfig: true,
	run:      keygen,
}

// keygenFlags are keygen's flags.
type keygenFlags struct{ out, alg string }

func (f *keygenFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "o", "", "write the key to this file (mode 0600, never replaced) instead of stdout")
	fs.StringVar(&f.alg, "alg", signing.Algorithms[0], "algorithm: "+strings.Join(signing.Algorithms, ", ")+" (RSA: 3072 bits)")
}

func keygen(_ context.Context, e cmdEnv, args []string) error {
	var f keygenFlags
	if err := parseFlagsNoArgs("keygen", args, f.declare); err != nil {
		return err
	}
	if !slices.Contains(signing.Algorithms, f.alg) {
		return usageErrorf("keygen: --alg %q, want one of %s", f.alg, strings.Join(signing.Algorithms, ", "))
	}
	if f.out == "" {
		ks, err := signing.GenerateAlg(f.alg)
		if err != nil {
			return err
		}
		data, err := ks.PrivateJWK()
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(data)
		return err
	}
	kid, err := signing.WriteNew(f.out, f.alg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote a private %s key with kid %s to %s (mode 0600)\nset USERD_SIGNING_KEY_FILE=%s\n", f.alg, kid, f.out, f.out)
	return nil
}
