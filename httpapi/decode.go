package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"unicode/utf8"
)

// MaxBody is the largest JSON body accepted.
const MaxBody = 1 << 20

// readBody reads at most limit bytes of r's body; more is errTooLarge.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, malformedBody("the body could not be read")
	}
	return b, nil
}

// mediaType returns r's Content-Type without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// decode reads one JSON value into dst: Content-Type must be one of types
// (default application/json; a request with neither body nor Content-Type
// is invalid_json, one with a body but no Content-Type 415), the body at most MaxBody bytes of valid UTF-8,
// with no unknown fields, field names matched exactly (not
// case-insensitively), no key twice in one object, and nothing after the
// value.
func decode(w http.ResponseWriter, r *http.Request, dst any, types ...string) error {
	if len(types) == 0 {
		types = []string{"application/json"}
	}
	if r.Header.Get("Content-Type") == "" {
		// No body and so no Content-Type (curl -X POST): the body is
		// what is missing, not its type.
		b, err := readBody(w, r, MaxBody)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return malformedBody("the body is empty: send one JSON value with Content-Type: application/json")
		}
		return errUnsupportedMedia
	}
	mt := mediaType(r)
	ok := false
	for _, t := range types {
		ok = ok || mt == t
	}
	if !ok {
		return errUnsupportedMedia
	}
	b, err := readBody(w, r, MaxBody)
	if err != nil {
		return err
	}
	return decodeBytes(b, dst)
}

// decodeBytes is decode without the HTTP part; fuzzed on its own.
func decodeBytes(b []byte, dst any) error {
	if !utf8.Valid(b) {
		return malformedBody("the body is not valid UTF-8")
	}
	if hasNULEscape(b) {
		return malformedBody("the body holds a NUL character (\\u0000), which no field accepts")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return malformedBody("the body is empty")
		case errors.As(err, &syn):
			return malformedBody("malformed JSON")
		case errors.As(err, &typ):
			return malformedBody("field " + typ.Field + " has the wrong type")
		default:
			// Unknown fields and the like: encoding/json's message names
			// only the field, never internals.
			return malformedBody(err.Error())
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformedBody("the body holds more than one JSON value")
	}
	if err := checkKeys(b, reflect.TypeOf(dst)); err != nil {
		return malformedBody(err.Error())
	}
	return nil
}

// hasNULEscape reports whether b holds the JSON escape \u0000 (PostgreSQL
// text and jsonb cannot store NUL). A raw NUL is already invalid JSON.
func hasNULEscape(b []byte) bool {
	for i := bytes.Index(b, []byte(`u0000`)); i >= 0; {
		// An escape is a "u0000" after an odd run of backslashes.
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		next := bytes.Index(b[i+1:], []byte(`u0000`))
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}
