// Package service holds userd's business rules: one type per area, a small
// closed set of domain errors, and the transactions. It knows nothing of HTTP.
package service

import (
	"errors"
	"fmt"
	"time"
)

// Code is the machine-readable kind of a domain error. The set is closed;
// httpapi maps each code to an HTTP status in one place.
type Code string

// The domain error codes.
const (
	CodeValidation         Code = "validation_failed"
	CodeInvalidCursor      Code = "invalid_cursor"
	CodeNotFound           Code = "not_found"
	CodeForbidden          Code = "forbidden"
	CodeBlocked            Code = "blocked"
	CodeInvalidToken       Code = "invalid_token"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeAccountDisabled    Code = "account_disabled"
	CodeEmailTaken         Code = "email_taken"
	CodePhoneTaken         Code = "phone_taken"
	CodeUsernameTaken      Code = "username_taken"
	CodeAlreadyMember      Code = "already_member"
	CodeSeatLimit          Code = "seat_limit_reached"
	CodeAmbiguousPhone     Code = "ambiguous_phone"
	CodeLastAdmin          Code = "last_admin"
	CodeConflict           Code = "conflict"
	CodeRateLimited        Code = "rate_limited"
	CodeIdPUnavailable     Code = "idp_unavailable"
	CodeDBUnavailable      Code = "db_unavailable"
	CodeOverloaded         Code = "overloaded"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is a domain error: a code, a client-safe message and, for
// validation failures, the fields at fault.
type Error struct {
	Code       Code
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // for rate_limited and *_unavailable
	cause      error
	of         *Error // the error withCause copied; nil: none
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.cause }

// Is matches by identity: an error is itself and the copies withCause
// makes of it, never another error of the same code (ErrInvitationPending
// is not ErrConflict). To ask for a kind, compare codes (ErrorOf), as the
// HTTP layer does.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e.of != nil && t == e.of
}

// The domain errors. Compare with errors.Is; read details with ErrorOf.
var (
	ErrNotFound           = &Error{Code: CodeNotFound, Message: "not found"}
	ErrForbidden          = &Error{Code: CodeForbidden, Message: "not allowed"}
	ErrBlocked            = &Error{Code: CodeBlocked, Message: "blocked"}
	ErrInvalidToken       = &Error{Code: CodeInvalidToken, Message: "the token is invalid or expired"}
	ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials, Message: "invalid credentials"}
	ErrAccountDisabled    = &Error{Code: CodeAccountDisabled, Message: "this account is disabled"}
	ErrEmailTaken         = &Error{Code: CodeEmailTaken, Message: "the email is already in use"}
	ErrPhoneTaken         = &Error{Code: CodePhoneTaken, Message: "the phone number is already in use"}
	ErrUsernameTaken      = &Error{Code: CodeUsernameTaken, Message: "the username is already in use"}
	ErrAlreadyMember      = &Error{Code: CodeAlreadyMember, Message: "already a member"}
	ErrSeatLimit          = &Error{Code: CodeSeatLimit, Message: "the plan's seat limit is reached"}
	ErrAmbiguousPhone     = &Error{Code: CodeAmbiguousPhone, Message: "several users match this phone number"}
	ErrLastAdmin          = &Error{Code: CodeLastAdmin, Message: "the last admin cannot lose the role"}
	ErrConflict           = &Error{Code: CodeConflict, Message: "the request conflicts with the current state"}
	ErrInvitationPending  = &Error{Code: CodeConflict, Message: "an invitation to this address is pending"}
	ErrInvalidCursor      = &Error{Code: CodeInvalidCursor, Message: "the cursor is invalid"}
	ErrIdPUnavailable     = &Error{Code: CodeIdPUnavailable, Message: "the identity provider is unavailable", RetryAfter: 5 * time.Second}
	ErrDBUnavailable      = &Error{Code: CodeDBUnavailable, Message: "the database is unavailable", RetryAfter: 2 * time.Second}
	ErrOverloaded         = &Error{Code: CodeOverloaded, Message: "too many password checks are waiting; try again shortly", RetryAfter: time.Second}
)

// ErrorOf returns the domain error in err's chain, if any.
func ErrorOf(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Invalid returns a validation error for the given fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeValidation, Message: "the request is invalid", Fields: fields}
}

// RateLimited returns a rate_limited error asking to retry after d.
func RateLimited(d time.Duration) *Error {
	return &Error{Code: CodeRateLimited, Message: "too many attempts", RetryAfter: d}
}

// withCause returns a copy of e that wraps cause, for logs; the copy is
// still e to errors.Is.
func withCause(e *Error, cause error) *Error {
	c := *e
	c.cause = cause
	if c.of == nil {
		c.of = e
	}
	return &c
}
