package web

import "testing"

func TestRedirectsCheck(t *testing.T) {
	t.Parallel()
	r, err := ParseRedirects([]string{"https://app.example.com", "https://shop.example.com/done/", "http://localhost:3000"})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]string{
		"/account":                              "/account",
		"/accept-invitation?token=abc":          "/accept-invitation?token=abc",
		"https://app.example.com":               "https://app.example.com",
		"https://app.example.com/anything?x=1":  "https://app.example.com/anything?x=1",
		"https://APP.example.com/x":             "https://app.example.com/x",
		"https://shop.example.com/done":         "https://shop.example.com/done",
		"https://shop.example.com/done/welcome": "https://shop.example.com/done/welcome",
		"http://localhost:3000/cb":              "http://localhost:3000/cb",
	}
	for in, want := range allowed {
		if got := r.Check(in); got != want {
			t.Errorf("Check(%q): got %q, want %q", in, got, want)
		}
	}
	refused := []string{
		"", "//evil.example", "//evil.example/path", "///evil.example", `/\evil.example`, `\\evil.example`,
		"https://evil.example", "https://evil.example/", `https://evil\@app.example.com`, `https://app.example.com\@evil.example`,
		"https://user@app.example.com/", "https://app.example.com@evil.example/", "https://user:pw@app.example.com",
		"https://app.example.com.evil.example/", "https://evilapp.example.com/",
		"http://app.example.com/", "https://app.example.com:8443/", "https://app.example.com:443x/",
		"http://localhost:3001/", "https://localhost:3000/",
		"javascript:alert(1)", "data:text/html,hi", "ftp://app.example.com/", "mailto:a@app.example.com",
		"https://shop.example.com/", "https://shop.example.com/donee", "https://shop.example.com/other",
		"https://shop.example.com/done/../admin", "https://shop.example.com/done/%2e%2e/admin", "https://shop.example.com/done/%2E%2E/admin",
		"https://shop.example.com/done/.%2e/admin", "https://shop.example.com/done%2f..%2fadmin", "https://shop.example.com/done/%5c..%5cadmin",
		"/../evil", "/%2e%2e/evil", "/ /evil", "/\t/evil.example", "/\n/evil.example", "https://app.example.com/#frag",
		" https://app.example.com/", "https:app.example.com", "https:/app.example.com/x",
	}
	for _, in := range refused {
		if got := r.Check(in); got != "" {
			t.Errorf("Check(%q): got %q, want it refused", in, got)
		}
	}
}

func TestParseRedirects(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"app.example.com", "/path", "https://u@app.example.com", "https://app.example.com/?q=1",
		"https://app.example.com/#f", "ftp://app.example.com", `https://app.example.com/\x`, "https://app.example.com/a/../b"} {
		if _, err := ParseRedirects([]string{bad}); err == nil {
			t.Errorf("ParseRedirects(%q): got no error", bad)
		}
	}
	r, err := ParseRedirects([]string{" https://App.example.com/ ", ""})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Origins(); len(got) != 1 || got[0] != "https://app.example.com" {
		t.Fatalf("Origins: got %v", got)
	}
}
