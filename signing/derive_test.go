package signing

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestDeriveSecret(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "key.json")
	a, err := LoadOrGenerate(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := a.DeriveSecret("cursor")
	sb, _ := b.DeriveSecret("cursor")
	so, _ := other.DeriveSecret("cursor")
	sp, _ := a.DeriveSecret("other-purpose")
	if len(sa) != 32 || !bytes.Equal(sa, sb) {
		t.Fatalf("same key file: got %x and %x, want equal 32-byte secrets", sa, sb)
	}
	if bytes.Equal(sa, so) || bytes.Equal(sa, sp) {
		t.Fatal("got equal secrets for another key or purpose, want different")
	}
}
