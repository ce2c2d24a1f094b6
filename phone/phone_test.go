package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, region, want string
	}{
		{"+91 98765 43210", "IN", "+919876543210"},
		{"098765-43210", "IN", "+919876543210"},
		{"9876543210", "IN", "+919876543210"},
		{"919876543210", "IN", "+919876543210"},
		{"00919876543210", "IN", "+919876543210"},
		{"0091 98765 43210", "IN", "+919876543210"},
		{"+91-98765-43210", "IN", "+919876543210"},
		{"(987) 654-3210", "IN", "+919876543210"},
		{"  9876543210  ", "IN", "+919876543210"},
		{"+1 415 555 2671", "IN", "+14155552671"},
		{"+44 20 7946 0958", "IN", "+442079460958"},
		{"14155552671", "IN", "+14155552671"},
		{"(415) 555-2671", "US", "+14155552671"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"+49 30 901820", "IN", "+4930901820"},
		// 00 is not the international prefix of the US (011 is): read as "+".
		{"0044 20 7946 0958", "US", "+442079460958"},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, c.region)
		if err != nil {
			t.Errorf("Normalize(%q, %q): got error %v, want %q", c.in, c.region, err, c.want)
			continue
		}
		if got != c.want {
			t.Errorf("Normalize(%q, %q): got %q, want %q", c.in, c.region, got, c.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "   ", "abc", "12345", "+", "++919876543210", "98765", "+91 98765",
		"+999 1234567890", "9876543210x", "1234567890123456789012",
		"९८७६५४३२१०", // Devanagari digits
		"+91 98765 43210; DROP TABLE users", "0000000000", "+0 1234567890", "4920100000000000",
	} {
		if got, err := Normalize(in, "IN"); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q): got %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestLast10(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"+919876543210": "9876543210",
		"+14155552671":  "4155552671",
		"+4930901820":   "4930901820",
		"+49309018":     "",
	}
	for in, want := range cases {
		if got := Last10(in); got != want {
			t.Errorf("Last10(%q): got %q, want %q", in, got, want)
		}
	}
}

// FuzzNormalize checks that any accepted input yields a number the database
// CHECK accepts and that normalizing is idempotent.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+91 98765 43210", "098765-43210", "9876543210", "919876543210", "0091 98765 43210", "+1 415 555 2671", "garbage", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s, "IN")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q): got error %v, want ErrInvalid", s, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("Normalize(%q) = %q, not E.164", s, got)
		}
		again, err := Normalize(got, "IN")
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want %q again", got, again, err, got)
		}
	})
}

// IdP claims are international digits: the country code comes first,
// whatever the default region; the same digits typed by a person in India
// are read as an Indian number.
func TestInternational(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want, typedInIN string }{
		{"6581234567", "+6581234567", "+916581234567"},     // SG mobile; 10 digits that also pass as Indian
		{"64211234567", "+64211234567", "+64211234567"},    // NZ mobile
		{"9607771234", "+9607771234", "+919607771234"},     // MV mobile; also a valid Indian mobile
		{"14155552671", "+14155552671", "+14155552671"},    // US
		{"447911123456", "+447911123456", "+447911123456"}, // GB mobile
		{"919876543210", "+919876543210", "+919876543210"}, // IN
		{"+6581234567", "+6581234567", "+6581234567"},      // a "+" is allowed
	}
	for _, c := range cases {
		got, err := International(c.in)
		if err != nil || got != c.want {
			t.Errorf("International(%q): got %q, %v; want %q", c.in, got, err, c.want)
		}
		typed, err := Normalize(c.in, "IN")
		if err != nil || typed != c.typedInIN {
			t.Errorf("Normalize(%q, IN): got %q, %v; want %q", c.in, typed, err, c.typedInIN)
		}
	}
	for _, in := range []string{"", "+", "9876543210x", "0919876543210", "98765", "+91 98765 43210", "1234567890123456", "00919876543210", "9999999999"} {
		if got, err := International(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("International(%q): got %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func FuzzInternational(f *testing.F) {
	for _, s := range []string{"6581234567", "+919876543210", "0", "", "+", "64211234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := International(s)
		if err != nil {
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("International(%q) = %q, not E.164", s, got)
		}
		// The digits are kept as sent: only a "+" is added.
		if got[1:] != strings.TrimPrefix(strings.TrimSpace(s), "+") {
			t.Fatalf("International(%q) = %q changed the digits", s, got)
		}
	})
}
