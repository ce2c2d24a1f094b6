package service

import (
	"bytes"
	"encoding/json"
	"io"
)

// Optional is a field of a merge patch: absent (Set false), null (Set true,
// Value nil) or a value.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records that the field was present, and its value or null.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// MergePatch applies an RFC 7396 JSON merge patch to target and returns the
// result. Both must be JSON; a patch that is not an object replaces target.
func MergePatch(target, patch json.RawMessage) (json.RawMessage, error) {
	var t, p any
	if len(bytes.TrimSpace(target)) > 0 {
		if err := decodeNumbers(target, &t); err != nil {
			return nil, err
		}
	}
	if err := decodeNumbers(patch, &p); err != nil {
		return nil, err
	}
	return json.Marshal(mergeValue(t, p))
}

// decodeNumbers decodes JSON keeping numbers as written, so an integer
// beyond float64's precision survives the merge.
func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func mergeValue(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergeValue(t[k], v)
	}
	return t
}

// jsonDepth is how deeply containers nest in the JSON document b: 0 for a
// scalar, 1 for a flat object or array; -1 when b is not JSON. The walk
// stops past limit, so a hostile document costs no more than its prefix.
func jsonDepth(b []byte, limit int) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF && depth == 0 {
				return deepest
			}
			return -1
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
			if deepest > limit {
				return deepest
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}
