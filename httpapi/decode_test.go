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
		`{"email": 1}`, `{"nope": 1}`, `{} {}`, `{"Email": "a@b.c"}`, `{"email": "a", "email": "b"}`, `{"preferences": {"a": 1, "a": 2}}`, `{"password": "\ud800"}`, "{\"password\": \"\xff\"}", ``, `[`,
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

type roleLike struct {
	Role     string            `json:"role"`
	ArtistID *int64            `json:"artist_id"`
	Nested   *roleLike         `json:"nested"`
	Tags     []roleLike        `json:"tags"`
	Free     map[string]any    `json:"free"`
	Raw      json.RawMessage   `json:"raw"`
	ByName   map[string]string `json:"by_name"`
}

// Names match exactly and no key appears twice, at any depth: encoding/json
// alone would take "Role" for "role" and keep the last of two keys.
func TestDecodeExactUniqueKeys(t *testing.T) {
	t.Parallel()
	ok := []string{
		`{"role":"operator"}`,
		`{"role":"a","artist_id":1,"nested":{"role":"b"},"tags":[{"role":"c"},{"role":"d"}]}`,
		`{"free":{"A":1,"a":2},"raw":{"X":1,"x":[{"k":1},{"k":2}]},"by_name":{"Role":"r"}}`,
		`{"role":"\u0052ole"}`,
	}
	bad := []string{
		`{"role":"operator","Role":"admin"}`,
		`{"Role":"admin"}`,
		`{"ROLE":"admin"}`,
		`{"role":"operator","role":"admin"}`,
		`{"role":"a","nested":{"role":"b","role":"c"}}`,
		`{"nested":{"Role":"admin"}}`,
		`{"tags":[{"role":"a"},{"role":"b","Role":"c"}]}`,
		`{"free":{"a":1,"a":2}}`,
		`{"raw":{"deep":[{"k":1,"k":2}]}}`,
		`{"by_name":{"x":"1","x":"2"}}`,
		`{"artist_Id":1}`,
	}
	for _, s := range ok {
		var dst roleLike
		if err := decodeBytes([]byte(s), &dst); err != nil {
			t.Errorf("decodeBytes(%s): got %v, want it accepted", s, err)
		}
	}
	for _, s := range bad {
		var dst roleLike
		err := decodeBytes([]byte(s), &dst)
		var api *apiError
		if !errors.As(err, &api) || api.code != "invalid_json" {
			t.Errorf("decodeBytes(%s): got %v (role %q), want invalid_json", s, err, dst.Role)
		}
	}
	// A raw document (preferences) is checked for duplicates too.
	var raw json.RawMessage
	if err := decodeBytes([]byte(`{"theme":"dark","theme":"light"}`), &raw); err == nil {
		t.Error("raw document with a duplicate key: got nil, want invalid_json")
	}
}
