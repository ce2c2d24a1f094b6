package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// maxKeyDepth bounds the nesting checkKeys walks, as encoding/json bounds
// its own (10,000); decodeBytes runs it only on JSON that decoded.
const maxKeyDepth = 10000

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkKeys refuses what encoding/json lets through: a key that matches a
// field only case-insensitively ({"Role": "admin"} for "role") and a key
// that appears twice in one object, at any depth. encoding/json keeps the
// last of duplicate keys and matches names without regard to case, so
// {"role":"operator","Role":"admin"} would pass a check of "role" and set
// admin. t is the type decoded into; values of types with their own
// UnmarshalJSON (and of maps and interfaces) are checked for duplicates
// only.
func checkKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return walkKeys(dec, t, 0)
}

func walkKeys(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxKeyDepth {
		return errors.New("the body is nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return errors.New("malformed JSON")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = deref(t)
	switch d {
	case '{':
		fields := structFields(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errors.New("malformed JSON")
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("field %q appears more than once", key)
			}
			seen[key] = true
			var ft reflect.Type
			switch {
			case fields != nil:
				f, ok := fields[key]
				if !ok {
					return fmt.Errorf("unknown field %q (names are case-sensitive)", key)
				}
				ft = f
			case t != nil && t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if err := walkKeys(dec, ft, depth+1); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, et, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return errors.New("malformed JSON")
	}
	return nil
}

// deref strips pointers; nil for types that decode themselves (their
// content is opaque here).
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

// structFields maps the exact JSON names of a struct's fields to their
// types; nil when t is not a struct.
func structFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && deref(f.Type) != nil && deref(f.Type).Kind() == reflect.Struct {
			continue // promoted: its fields are listed on their own
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
	return out
}
