package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/signing"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	for _, alg := range signing.Algorithms {
		dir := t.TempDir()

		// Without -o the private JWK is the output, and it loads.
		r := runUserd(t, "keygen", "--alg", alg)
		if r.code != 0 {
			t.Fatalf("keygen --alg %s: exit %d %s", alg, r.code, r.msg)
		}
		var jwk map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &jwk); err != nil || jwk["d"] == nil || jwk["kid"] == "" || jwk["alg"] != alg {
			t.Fatalf("keygen --alg %s: got %q (%v), want a private JWK with kid and alg", alg, r.stdout, err)
		}
		printed := filepath.Join(dir, "printed.json")
		if err := os.WriteFile(printed, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if ks, err := signing.Load(printed); err != nil || ks.KeyID() != jwk["kid"] {
			t.Fatalf("keygen --alg %s: the printed key loads as %v, %v; want kid %v", alg, ks, err, jwk["kid"])
		}

		// With -o the file holds it with mode 0600 and stdout holds no secret.
		path := filepath.Join(dir, "sub", "signing.json")
		r = runUserd(t, "keygen", "-o", path, "--alg", alg)
		if r.code != 0 {
			t.Fatalf("keygen -o --alg %s: exit %d %s", alg, r.code, r.msg)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("keygen -o: got %v (%v), want a file with mode 0600", st, err)
		}
		ks, err := signing.Load(path)
		if err != nil || ks.Algorithm() != alg {
			t.Fatalf("keygen -o --alg %s: the file loads as %v, %v", alg, ks, err)
		}
		data, _ := os.ReadFile(path)
		var written map[string]any
		if err := json.Unmarshal(data, &written); err != nil {
			t.Fatal(err)
		}
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := written[member].(string); ok && strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("keygen -o --alg %s: private member %s printed: %q", alg, member, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, ks.KeyID()) || !strings.Contains(r.stdout, path) {
			t.Errorf("keygen -o: got %q, want the kid %s and the path", r.stdout, ks.KeyID())
		}

		// A second run never replaces the key.
		r = runUserd(t, "keygen", "-o", path, "--alg", alg)
		again, _ := os.ReadFile(path)
		if r.code != 1 || !strings.Contains(r.msg, "already exists") || string(again) != string(data) {
			t.Errorf("keygen -o over an existing key: got exit %d %q, file changed %v; want a refusal and the key kept",
				r.code, r.msg, string(again) != string(data))
		}
	}
}
