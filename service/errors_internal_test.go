package service

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrorsCompareByIdentity: a domain error is itself and its copies
// with a cause, wrapped or not, and never another error of the same code.
func TestErrorsCompareByIdentity(t *testing.T) {
	t.Parallel()
	cause := errors.New("the cause")
	for _, c := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"itself", ErrInvitationPending, ErrInvitationPending, true},
		{"a copy with a cause", withCause(ErrInvitationPending, cause), ErrInvitationPending, true},
		{"a wrapped copy of a copy", fmt.Errorf("invite: %w", withCause(withCause(ErrNotFound, cause), cause)), ErrNotFound, true},
		{"the cause of a copy", withCause(ErrConflict, cause), cause, true},
		{"another error of its code", ErrInvitationPending, ErrConflict, false},
		{"the general error of its code", ErrConflict, ErrInvitationPending, false},
		{"a copy, against another of its code", withCause(ErrEmailLinkRequired, cause), ErrEmailTaken, false},
		{"a fresh error of the same code", &Error{Code: CodeConflict, Message: "other"}, ErrConflict, false},
	} {
		if got := errors.Is(c.err, c.target); got != c.want {
			t.Errorf("%s: errors.Is got %v, want %v", c.name, got, c.want)
		}
	}
	for _, err := range []error{ErrEmailLinkRequired, withCause(ErrPhoneLinkRequired, cause), fmt.Errorf("sync: %w", withCause(ErrEmailLinkRequired, cause))} {
		if !isLinkRequired(err) {
			t.Errorf("isLinkRequired(%v): got false, want true", err)
		}
	}
	for _, err := range []error{ErrEmailTaken, withCause(ErrPhoneTaken, cause)} {
		if isLinkRequired(err) {
			t.Errorf("isLinkRequired(%v): got true, want false", err)
		}
	}
}
