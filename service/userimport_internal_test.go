package service

import (
	"strings"
	"testing"

	"github.com/userd/userd/password"
)

// FuzzImportLine feeds arbitrary lines to the import's parser: it never
// panics, and a line it accepts holds only values the API would store.
func FuzzImportLine(f *testing.F) {
	for _, s := range []string{
		`{"email":"Ann@Example.com","username":"Ann","phone":"098765 43210","password_hash":"$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"}`,
		`{"identities":[{"provider":"google","subject":"g-1"}],"organization":" Acme ","role":"artist","artist_id":3}`,
		`{"username":"zed","preferences":{"a":[1,{"b":null}]},"location":{"latitude":1,"longitude":2},"created_at":"2020-01-02T03:04:05Z"}`,
		`{"email":"x@example.com","password_hash":"pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I="}`,
		`{"email":"a@b","phone_verified":true}`,
		`[1]`, `{"email":`, `{}`,
	} {
		f.Add(s)
	}
	im := &Importer{users: NewUsers(nil, "IN", "")}
	f.Fuzz(func(t *testing.T, line string) {
		r, problem := im.parseLine(1, []byte(line))
		if problem != nil {
			if problem.Line != 1 || problem.Reason == "" {
				t.Fatalf("problem %+v: want line 1 and a reason", problem)
			}
			return
		}
		if r.email == nil && r.profile.Username == nil && r.profile.Phone == nil && len(r.providers) == 0 {
			t.Fatalf("accepted %q naming nobody", line)
		}
		if r.email != nil {
			if e, ok := NormalizeEmail(*r.email); !ok || e != *r.email {
				t.Fatalf("accepted email %q", *r.email)
			}
		}
		if r.profile.Phone != nil && !strings.HasPrefix(*r.profile.Phone, "+") {
			t.Fatalf("accepted phone %q, not E.164", *r.profile.Phone)
		}
		if r.hash != nil {
			if _, err := password.Check(*r.hash); err != nil {
				t.Fatalf("accepted hash %q: %v", *r.hash, err)
			}
		}
		if len(r.providers) != len(r.subjects) {
			t.Fatalf("providers %v and subjects %v differ in length", r.providers, r.subjects)
		}
		if r.prefs != nil && (len(r.prefs) > MaxPreferencesSize || r.prefs[0] != '{') {
			t.Fatalf("accepted preferences %s", r.prefs)
		}
	})
}
