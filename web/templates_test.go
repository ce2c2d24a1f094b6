package web

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTemplatesOverrides(t *testing.T) {
	t.Parallel()
	write := func(files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tpl, err := LoadTemplates(write(map[string]string{"signin.html": `{{define "title"}}Welcome back{{end}}{{define "content"}}<p>custom</p>{{end}}`}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tpl.pages["signin"].ExecuteTemplate(&b, "layout", &view{Brand: Brand{Name: "Acme"}, Data: map[string]any{}, Errors: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<title>Welcome back · Acme</title>") || !strings.Contains(b.String(), "<p>custom</p>") {
		t.Fatalf("the override is not used:\n%s", b.String())
	}
	for name, files := range map[string]map[string]string{
		"unknown file":    {"sign-in.html": `{{define "title"}}x{{end}}`},
		"does not parse":  {"signup.html": `{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`},
		"does not render": {"forgot.html": `{{define "title"}}x{{end}}{{define "content"}}{{template "nope" .}}{{end}}`},
		"broken layout":   {"layout.html": `{{define "layout"}}{{.Nope.Deeper}}{{end}}`},
	} {
		if _, err := LoadTemplates(write(files)); !errors.Is(err, ErrTemplate) {
			t.Errorf("%s: got %v, want ErrTemplate", name, err)
		}
	}
	if _, err := LoadTemplates(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrTemplate) {
		t.Errorf("missing directory: got %v, want ErrTemplate", err)
	}
}

func TestBrandInPages(t *testing.T) {
	t.Parallel()
	h := New(Config{Brand: Brand{Name: "Acme", Color: "#0a7", LogoURL: "https://cdn.example.com/logo.png"}})
	if !strings.Contains(string(h.style), "--brand: #0a7;") {
		t.Fatalf("style: got %.80q", h.style)
	}
	if !strings.Contains(h.csp, "img-src 'self' https://cdn.example.com;") {
		t.Fatalf("CSP %q: img-src lacks the logo's origin", h.csp)
	}
	bad := New(Config{Brand: Brand{Color: "red; } body { display: none"}})
	if !strings.Contains(string(bad.style), "--brand: #1a4fb5;") {
		t.Fatalf("a colour that is not #rgb or #rrggbb reached the stylesheet: %.80q", bad.style)
	}
	if CheckColor("#12345") || !CheckColor("#ABCDEF") {
		t.Fatal("CheckColor")
	}
}
