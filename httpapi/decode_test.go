package httpapi

import (
	"encoding/json"
	"errors"
	"testing"
)

type fuzzBody struct {
	Email    *string         `json:"email"`
	Password string          `json:"password"`
	Limit    int             `json:"limit"`
	Prefs    json.RawMessage `json:"preferences"`
}

// FuzzDecodeBytes checks that any body either decodes or is rejected as
// invalid_json, never panics, and that an accepted body is one JSON value.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{
		`{"email": "a@b.c", "password": "x"}`, `{}`, `null`, `{"limit": 5}`, `{"preferences": {"a": [1, {"b": null}]}}`,
		`{"email": 1}`, `{"nope": 1}`, `{} {}`, `{"password": "\ud800"}`, "{\"password\": \"\xff\"}", ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var dst fuzzBody
		err := decodeBytes(b, &dst)
		if err == nil {
			if !json.Valid(b) {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			return
		}
		var api *apiError
		if !errors.As(err, &api) || api.code != "invalid_json" || api.status != 400 {
			t.Fatalf("decodeBytes(%q): got %v, want invalid_json 400", b, err)
		}
	})
}

func TestHasNULEscape(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		`{"a":"x\u0000y"}`:       true,
		`{"a":"\\\u0000"}`:       true,
		`{"a":"\\u0000"}`:        false, // an escaped backslash, then text
		`{"a":"u0000"}`:          false,
		`{"a":"\u00001"}`:        true,
		`{"a":"x","b":"\u0000"}`: true,
		`{}`:                     false,
	}
	for in, want := range cases {
		if got := hasNULEscape([]byte(in)); got != want {
			t.Errorf("hasNULEscape(%s): got %v, want %v", in, got, want)
		}
	}
}
