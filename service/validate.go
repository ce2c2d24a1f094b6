package service

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/userd/userd/phone"
)

// validation accumulates field errors.
type validation []FieldError

func (v *validation) add(field, msg string) { *v = append(*v, FieldError{Field: field, Message: msg}) }

func (v validation) err() error {
	if len(v) == 0 {
		return nil
	}
	return Invalid(v...)
}

// identifier is the rule of a field that names or reaches a user: email,
// username or phone. normalize returns the stored form of its input, or
// false when the input is not valid.
type identifier struct {
	field     string
	message   string
	normalize func(s string) (string, bool)
}

var (
	emailRule    = identifier{"email", "must be an email address", NormalizeEmail}
	usernameRule = identifier{"username", "must be 3 to 64 characters of a-z, 0-9, '.' and '_'", NormalizeUsername}
)

// phoneRule normalizes phone numbers to E.164, reading numbers without a
// country code in region.
func phoneRule(region string) identifier {
	return identifier{"phone", "must be a valid phone number", func(s string) (string, bool) {
		p, err := phone.Normalize(s, region)
		return p, err == nil
	}}
}

// optional applies r to in: nil for absent or blank input, else the
// normalized value, or nil and a field error on v.
func (v *validation) optional(r identifier, in *string) *string {
	if in == nil || strings.TrimSpace(*in) == "" {
		return nil
	}
	if s, ok := r.normalize(*in); ok {
		return &s
	}
	v.add(r.field, r.message)
	return nil
}

// required applies r to s.
// Errors: validation_failed on r's field.
func (r identifier) required(s string) (string, error) {
	if n, ok := r.normalize(s); ok {
		return n, nil
	}
	return "", Invalid(FieldError{Field: r.field, Message: r.message})
}

var usernameRE = regexp.MustCompile(`^[a-z0-9._]{3,64}$`)

// NormalizeUsername lower-cases and checks a username.
func NormalizeUsername(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, usernameRE.MatchString(s)
}

// NormalizeEmail returns the canonical form of an email address, or false
// when s is not a bare address of at most 254 bytes. The canonical form is
// what userd stores, compares and mails to: Unicode NFKC, then lower case;
// the domain in its IDNA ASCII form (punycode, UTS #46 lookup rules). So
// look-alikes that NFKC folds (K KELVIN SIGN, fullwidth letters) are the
// address they look like, and the schema's canonical CHECKs plus the
// unique index on lower(email) agree with this function exactly.
//
// A local part that is not ASCII after NFKC is refused: NFKC does not fold
// confusables across scripts (a Cyrillic "а" stays itself), so such
// addresses would be told apart from the Latin ones they imitate only by
// their bytes; mail to them needs SMTPUTF8, which many servers lack; and
// most providers refuse them at sign-up too.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || len(s) > 4*254 {
		return s, false
	}
	s = norm.NFKC.String(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return s, false
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if local[i] >= utf8.RuneSelf {
			return s, false
		}
	}
	domain, err := idna.Lookup.ToASCII(domain)
	if err != nil || domain == "" {
		return s, false
	}
	s = strings.ToLower(local) + "@" + strings.ToLower(domain)
	// The schema's CHECK refuses any space; so does this.
	if len(s) > 254 || strings.IndexFunc(s, unicode.IsSpace) >= 0 || strings.ContainsRune(s, 0) {
		return s, false
	}
	a, err := mail.ParseAddress(s)
	return s, err == nil && a.Address == s && a.Name == ""
}

// text normalizes a free-text field: trimmed, "" is null, at most max
// runes, no control characters.
func text(v *validation, field string, in *string, max int) *string {
	if in == nil {
		return nil
	}
	s := strings.TrimSpace(*in)
	if s == "" {
		return nil
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		v.add(field, "must not contain control characters")
		return nil
	}
	if utf8.RuneCountInString(s) > max {
		v.add(field, "must be at most "+strconv.Itoa(max)+" characters")
		return nil
	}
	return &s
}
