package signing

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteNewEachAlgorithm(t *testing.T) {
	t.Parallel()
	for _, alg := range Algorithms {
		path := filepath.Join(t.TempDir(), "keys", "signing.json")
		kid, err := WriteNew(path, alg)
		if err != nil {
			t.Fatalf("WriteNew(%s): %v", alg, err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", alg, st.Mode().Perm())
		}
		ks, err := Load(path)
		if err != nil {
			t.Fatalf("%s: Load of the written key: %v", alg, err)
		}
		if ks.Algorithm() != alg || ks.KeyID() != kid || kid == "" {
			t.Errorf("%s: loaded alg %s kid %q, want %s and %q", alg, ks.Algorithm(), ks.KeyID(), alg, kid)
		}
		c := baseClaims()
		tok, err := ks.Sign(c)
		if err != nil {
			t.Fatalf("%s: sign: %v", alg, err)
		}
		if _, err := ks.Verify(tok, c.Issuer, c.Audience, 0); err != nil {
			t.Errorf("%s: verify own token: %v", alg, err)
		}
		if _, err := WriteNew(path, alg); !errors.Is(err, fs.ErrExist) {
			t.Errorf("%s: WriteNew over an existing file: got %v, want fs.ErrExist", alg, err)
		}
		if again, err := Load(path); err != nil || again.KeyID() != kid {
			t.Errorf("%s: after the refused overwrite: kid %v (%v), want %q kept", alg, again, err, kid)
		}
	}
	if _, err := GenerateAlg("HS256"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("GenerateAlg(HS256): got %v, want ErrInvalidKey", err)
	}
}
