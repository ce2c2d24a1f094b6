package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, pw string
		want     error
	}{
		{"empty", "", ErrTooShort},
		{"seven", "xk7#pQ2", ErrTooShort},
		{"exactly eight", "xk7#pQ2z", nil},
		{"exactly 256", strings.Repeat("ab", 128), nil},
		{"257", strings.Repeat("ab", 128) + "c", ErrTooLong},
		{"common", "password", ErrCommon},
		{"common digits", "12345678", ErrCommon},
		{"common upper-cased", "PASSWORD", ErrCommon},
		{"common mixed case", "IloveYou", ErrCommon},
		{"common qwertyuiop", "QwertyUiop", ErrCommon},
		{"common with suffix is allowed", "password-for-userd", nil},
		// Seven runes but 14 bytes: too short.
		{"unicode seven runes", "ääääääb", ErrTooShort},
		// Eight runes (24 bytes): long enough.
		{"unicode eight runes", "密码密码密码密码", nil},
		// 256 runes of 2 bytes each (512 bytes): not too long.
		{"unicode 256 runes", strings.Repeat("é", 256), nil},
		{"unicode 257 runes", strings.Repeat("é", 257), ErrTooLong},
		{"spaces count", "a b c d ", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Validate(c.pw); !errors.Is(got, c.want) || (c.want == nil && got != nil) {
				t.Errorf("Validate(%q): got %v, want %v", c.pw, got, c.want)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSuffix(commonTxt, "\n"), "\n")
	if got := len(lines); got < 900 {
		t.Errorf("common.txt: got %d entries, want about 1000", got)
	}
	seen := make(map[string]bool, len(lines))
	for i, w := range lines {
		switch {
		case w != strings.TrimSpace(w) || w == "":
			t.Errorf("line %d %q: got surrounding space or empty, want a bare password", i+1, w)
		case w != strings.ToLower(w):
			t.Errorf("line %d %q: got upper case, want lower-case", i+1, w)
		case utf8.RuneCountInString(w) < MinLength:
			t.Errorf("line %d %q: got %d characters, want at least %d", i+1, w, utf8.RuneCountInString(w), MinLength)
		case seen[w]:
			t.Errorf("line %d %q: got a duplicate, want unique entries", i+1, w)
		}
		seen[w] = true
	}
	for _, w := range []string{"password", "12345678", "qwertyuiop", "iloveyou", "password1", "sunshine"} {
		if !IsCommon(w) {
			t.Errorf("IsCommon(%q): got false, want true", w)
		}
	}
}
