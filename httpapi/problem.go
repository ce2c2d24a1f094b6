package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/userd/userd/service"
)

// apiError is an error of the HTTP layer itself (decoding, routing).
type apiError struct {
	status int
	code   string
	detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

var (
	errTooLarge         = &apiError{http.StatusRequestEntityTooLarge, "payload_too_large", "the body is too large"}
	errUnsupportedMedia = &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported Content-Type"}
	errNotFound         = &apiError{http.StatusNotFound, "not_found", "not found"}
	errShuttingDown     = &apiError{http.StatusServiceUnavailable, "shutting_down", "the server is shutting down"}
	errMethodNotAllowed = &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"}
)

// malformedBody is a body that cannot be read as what it declares: JSON,
// multipart or an image's bytes. Its code is invalid_json, the API's one
// code for a body it cannot parse (the name is older than the image
// uploads; clients match it, so it stays).
func malformedBody(detail string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_json", detail}
}

// statusOf maps each domain error code to its HTTP status: the one place
// where that mapping lives.
var statusOf = map[service.Code]int{
	service.CodeValidation:         http.StatusUnprocessableEntity,
	service.CodeInvalidCursor:      http.StatusBadRequest,
	service.CodeNotFound:           http.StatusNotFound,
	service.CodeForbidden:          http.StatusForbidden,
	service.CodeBlocked:            http.StatusForbidden,
	service.CodeInvalidToken:       http.StatusUnauthorized,
	service.CodeInvalidCredentials: http.StatusUnauthorized,
	service.CodeAccountDisabled:    http.StatusForbidden,
	service.CodeEmailTaken:         http.StatusConflict,
	service.CodePhoneTaken:         http.StatusConflict,
	service.CodeUsernameTaken:      http.StatusConflict,
	service.CodeAlreadyMember:      http.StatusConflict,
	service.CodeSeatLimit:          http.StatusConflict,
	service.CodeAmbiguousPhone:     http.StatusConflict,
	service.CodeLastAdmin:          http.StatusConflict,
	service.CodeConflict:           http.StatusConflict,
	service.CodeRateLimited:        http.StatusTooManyRequests,
	service.CodeIdPUnavailable:     http.StatusServiceUnavailable,
	service.CodeDBUnavailable:      http.StatusServiceUnavailable,
	service.CodeOverloaded:         http.StatusServiceUnavailable,
}

// problem is an RFC 9457 problem document with userd's machine code.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Code      string       `json:"code"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// statusClientClosed is logged for a request whose client went away
// before its answer (nginx's 499).
const statusClientClosed = 499

// fail writes err as problem+json. Domain and HTTP-layer errors keep their
// status and code; anything else is logged and becomes a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The client hung up: nobody reads an answer. Logged as 499 (as
		// nginx does), not as an internal error.
		s.log.InfoContext(r.Context(), "client closed the request", "err", err, "request_id", requestID(r.Context()))
		w.WriteHeader(statusClientClosed)
		return
	}
	p := problem{Type: "about:blank", Instance: r.URL.Path, RequestID: requestID(r.Context())}
	var api *apiError
	if errors.As(err, &api) {
		p.Status, p.Code, p.Detail = api.status, api.code, api.detail
	} else if de, ok := service.ErrorOf(err); ok {
		p.Status, p.Code, p.Detail = statusOf[de.Code], string(de.Code), de.Message
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		for _, f := range de.Fields {
			p.Errors = append(p.Errors, fieldError{Field: f.Field, Message: f.Message})
		}
		if de.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((de.RetryAfter+time.Second-1)/time.Second)))
		}
		if p.Status >= 500 {
			s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", p.RequestID)
		}
	} else {
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "request_id", p.RequestID)
		p.Status, p.Code, p.Detail = http.StatusInternalServerError, "internal_error", "an internal error occurred"
	}
	if isOAuth(err) {
		writeOAuth(w, p)
		return
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge(err))
	}
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// noToken is a request to an authenticated route without a bearer token:
// invalid_token, told apart for its challenge.
type noToken struct{}

func (noToken) Error() string { return "no bearer token" }
func (noToken) Unwrap() error { return service.ErrInvalidToken }

// challenge is the WWW-Authenticate of a 401 (RFC 9110 §11.6.1: every 401
// carries one): a bad token gets error="invalid_token" (RFC 6750 §3.1), a
// request with no token at all only the scheme, and so do failed logins.
func challenge(err error) string {
	if de, ok := service.ErrorOf(err); ok && de.Code == service.CodeInvalidToken && !errors.As(err, new(noToken)) {
		return `Bearer error="invalid_token"`
	}
	return "Bearer"
}

// reply writes v as JSON with the given status; a handler ends with
// `return reply(w, status, v)`. v is encoded before anything is written,
// so an encoding error is returned (and becomes a 500) instead of a
// truncated body.
func reply(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// noContent answers 204; a handler ends with `return noContent(w)`.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
