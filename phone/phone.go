// Package phone normalizes phone numbers to E.164 with libphonenumber.
package phone

import (
	"errors"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is returned for input that is not a valid phone number.
var ErrInvalid = errors.New("not a valid phone number")

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// maxInput bounds the input handed to libphonenumber.
const maxInput = 64

// Normalize parses s as a phone number and returns its E.164 form
// ("+919876543210"). Numbers without a country code are read in
// defaultRegion (ISO 3166-1 alpha-2, e.g. "IN"). Besides what libphonenumber
// accepts, it takes the international prefix written as "00" and a bare
// country code without "+" (Supabase sends "919876543210").
//
// It returns ErrInvalid for anything that is not a valid number.
func Normalize(s, defaultRegion string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxInput {
		return "", ErrInvalid
	}
	if strings.LastIndexByte(s, '+') > 0 {
		return "", ErrInvalid
	}
	for _, r := range s {
		if (r < '0' || r > '9') && !strings.ContainsRune("+-(). /", r) {
			return "", ErrInvalid
		}
	}
	if e, ok := parse(s, defaultRegion); ok {
		return e, nil
	}
	digits := onlyDigits(s)
	if !strings.HasPrefix(s, "+") && len(digits) > 10 {
		// A country code written without "+", or after an international "00".
		if e, ok := parse("+"+strings.TrimPrefix(digits, "00"), defaultRegion); ok {
			return e, nil
		}
	}
	return "", ErrInvalid
}

func parse(s, region string) (string, bool) {
	n, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	e := phonenumbers.Format(n, phonenumbers.E164)
	// libphonenumber accepts some numbers longer than E.164 allows.
	return e, e164.MatchString(e)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Last10 returns the last ten digits of an E.164 number, the key of the
// fallback lookup for numbers stored with a different country prefix. It
// returns "" for numbers with fewer than ten digits.
func Last10(e164 string) string {
	d := onlyDigits(e164)
	if len(d) < 10 {
		return ""
	}
	return d[len(d)-10:]
}

// International parses a number that is international by contract, such as
// an IdP's phone claim (Supabase sends the digits of the E.164 form without
// "+"): the leading digits are always the country code, never a default
// region's national number. "6581234567" is Singapore's +65 8123 4567, not
// an Indian +91 65812 34567. A leading "+" is accepted; nothing but digits
// otherwise.
//
// It returns ErrInvalid for anything that is not a valid number so read.
func International(s string) (string, error) {
	d := strings.TrimPrefix(strings.TrimSpace(s), "+")
	if d == "" || len(d) > 15 || d[0] == '0' {
		return "", ErrInvalid
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", ErrInvalid
		}
	}
	// With a "+", libphonenumber reads the country code from the digits
	// and ignores the region. It would drop a national prefix written
	// after the country code ("91 0 11…"): the claim must already be the
	// E.164 digits.
	if e, ok := parse("+"+d, "ZZ"); ok && e == "+"+d {
		return e, nil
	}
	return "", ErrInvalid
}
