package password

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// Password length bounds, counted in Unicode code points.
const (
	MinLength = 8
	MaxLength = 256
)

// Errors returned by Validate.
var (
	ErrTooShort = errors.New("password is shorter than 8 characters")
	ErrTooLong  = errors.New("password is longer than 256 characters")
	ErrCommon   = errors.New("password is too common")
)

// commonTxt lists well-known most-common passwords of at least MinLength
// characters (digit runs, keyboard walks, words and word+digit patterns seen
// at the top of public breach-frequency lists), one per line, lower-case.
//
//go:embed common.txt
var commonTxt string

// commonSet is the set of lines in common.txt, built on first use and never
// modified afterwards.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	for line := range strings.Lines(commonTxt) {
		if w := strings.ToLower(strings.TrimSpace(line)); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// Validate checks a new password against the policy: at least MinLength and
// at most MaxLength characters (runes, not bytes), and not on the bundled
// list of common passwords (compared case-insensitively). It returns
// ErrTooShort, ErrTooLong or ErrCommon, in that order of precedence, or nil.
func Validate(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	if IsCommon(password) {
		return ErrCommon
	}
	return nil
}

// IsCommon reports whether password, lower-cased, is on the bundled list of
// common passwords.
func IsCommon(password string) bool {
	_, ok := commonSet()[strings.ToLower(password)]
	return ok
}
