package service

import (
	"encoding/base64"
	"errors"
	"math"
	"testing"
	"time"
)

var testCodec = cursorCodec{key: []byte("0123456789abcdef0123456789abcdef")}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	bind := UserFilter{Role: strPtr("agent")}.bind()
	for _, p := range []Cursor{
		{CreatedAt: time.Date(2026, 11, 22, 10, 11, 12, 123456000, time.UTC), ID: 42},
		{CreatedAt: time.Unix(0, 0).UTC(), ID: 1},
		firstPage,
		{CreatedAt: time.UnixMicro(math.MinInt64).UTC(), ID: math.MinInt64},
	} {
		s := testCodec.encode(cursorUsers, bind, p)
		got, err := testCodec.decode(cursorUsers, bind, s)
		if err != nil {
			t.Fatalf("decode(%q): got error %v, want nil", s, err)
		}
		if !got.CreatedAt.Equal(p.CreatedAt) || got.ID != p.ID {
			t.Fatalf("got %+v, want %+v", got, p)
		}
	}
}

func TestCursorRefused(t *testing.T) {
	t.Parallel()
	bind := UserFilter{Role: strPtr("agent")}.bind()
	good := testCodec.encode(cursorUsers, bind, Cursor{CreatedAt: time.Now(), ID: 7})
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := make([]byte, len(raw))
	copy(flipped, raw)
	flipped[10] ^= 1 // the id
	other := cursorCodec{key: []byte("another key, just as long as it")}
	cases := map[string]struct {
		codec      cursorCodec
		kind, s    string
		bind       []byte
		wantRefuse bool
	}{
		"good":          {testCodec, cursorUsers, good, bind, false},
		"tampered id":   {testCodec, cursorUsers, base64.RawURLEncoding.EncodeToString(flipped), bind, true},
		"other filters": {testCodec, cursorUsers, good, UserFilter{Role: strPtr("admin")}.bind(), true},
		"no filters":    {testCodec, cursorUsers, good, UserFilter{}.bind(), true},
		"other list":    {testCodec, cursorAudit, good, bind, true},
		"other key":     {other, cursorUsers, good, bind, true},
		"truncated":     {testCodec, cursorUsers, good[:len(good)-1], bind, true},
		"padded":        {testCodec, cursorUsers, good + "=", bind, true},
		"std alphabet":  {testCodec, cursorUsers, base64.StdEncoding.EncodeToString(raw), bind, true},
		"empty-ish":     {testCodec, cursorUsers, "x", bind, true},
	}
	for name, c := range cases {
		_, err := c.codec.decode(c.kind, c.bind, c.s)
		if got := errors.Is(err, ErrInvalidCursor); got != c.wantRefuse {
			t.Errorf("%s: got refused=%v (%v), want %v", name, got, err, c.wantRefuse)
		}
	}
}

func TestPageLimit(t *testing.T) {
	t.Parallel()
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		in   *int
		want int
		ok   bool
	}{{nil, 50, true}, {n(1), 1, true}, {n(200), 200, true}, {n(0), 0, false}, {n(-1), 0, false}, {n(201), 0, false}} {
		got, err := pageLimit(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("pageLimit(%v): got %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil {
			if e, _ := ErrorOf(err); e.Code != CodeValidation || e.Fields[0].Field != "limit" {
				t.Errorf("pageLimit(%v): got error %v, want validation_failed on limit", c.in, err)
			}
		}
	}
}

// FuzzDecodeCursor checks that decoding never panics, refuses with
// invalid_cursor only, and that a cursor it accepts re-encodes to the same
// string (one position has one cursor).
func FuzzDecodeCursor(f *testing.F) {
	bind := UserFilter{IsActive: new(bool), Q: strPtr("asha")}.bind()
	f.Add(testCodec.encode(cursorUsers, bind, Cursor{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ID: 1}))
	f.Add(testCodec.encode(cursorUsers, bind, firstPage))
	f.Add(testCodec.encode(cursorUsers, bind, Cursor{CreatedAt: time.UnixMicro(-1).UTC(), ID: -1}))
	f.Add("")
	f.Add("AQ")
	f.Add("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("////////////////////////////////////////////////////////////////////")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := testCodec.decode(cursorUsers, bind, s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("decode(%q): got error %v, want invalid_cursor", s, err)
			}
			return
		}
		if again := testCodec.encode(cursorUsers, bind, c); again != s {
			t.Fatalf("decode(%q) = %+v re-encodes to %q, want the input", s, c, again)
		}
	})
}
