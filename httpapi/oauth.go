package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/userd/userd/service"
)

// The OAuth 2.0 token endpoint (RFC 6749 §3.2): the password and refresh
// token grants of the JSON routes login and refresh, as OAuth clients
// (golang.org/x/oauth2, GoTrue's) send them.

const (
	tokenPath         = "/api/v1/auth/token"
	formType          = "application/x-www-form-urlencoded"
	grantPassword     = "password"
	grantRefreshToken = "refresh_token"
)

// Errors of the token endpoint (RFC 6749 §5.2); never problem+json.
func invalidRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

var (
	errGrantType = &apiError{http.StatusBadRequest, "unsupported_grant_type",
		`grant_type must be "password" or "refresh_token"`}
	errClientHeader = &apiError{http.StatusUnauthorized, "invalid_client",
		"clients do not authenticate (token_endpoint_auth_methods_supported: none): send no Authorization header, and client_id, if any, in the form"}
)

// oauthFailure marks an error of the token endpoint: fail writes it as an
// RFC 6749 §5.2 error object instead of a problem document.
type oauthFailure struct{ err error }

func (f oauthFailure) Error() string { return f.err.Error() }
func (f oauthFailure) Unwrap() error { return f.err }

// tokenForm is the form of a token request. Parameters sent without a
// value count as omitted (RFC 6749 §3.2); unknown ones (scope) are ignored.
type tokenForm struct {
	grantType    string
	username     string
	password     string
	refreshToken string
	clientID     string
}

// parseTokenForm reads a token request's body: form fields of valid UTF-8
// without NUL, none given twice.
func parseTokenForm(b []byte) (tokenForm, error) {
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return tokenForm{}, invalidRequest("the body is not a well-formed %s form", formType)
	}
	one := func(name string) (string, error) {
		vs := v[name]
		switch {
		case len(vs) > 1:
			return "", invalidRequest("parameter %s given more than once", name)
		case len(vs) == 0:
			return "", nil
		case !utf8.ValidString(vs[0]) || strings.ContainsRune(vs[0], 0):
			return "", invalidRequest("parameter %s is not valid UTF-8 text", name)
		}
		return vs[0], nil
	}
	var f tokenForm
	for _, p := range []struct {
		name string
		dst  *string
	}{{"grant_type", &f.grantType}, {"username", &f.username}, {"password", &f.password}, {"refresh_token", &f.refreshToken}, {"client_id", &f.clientID}} {
		if *p.dst, err = one(p.name); err != nil {
			return tokenForm{}, err
		}
	}
	return f, nil
}

// token is POST /api/v1/auth/token. Clients do not authenticate ("none"):
// an Authorization header is invalid_client (401), so that
// golang.org/x/oauth2's default probe falls back to the form before any
// password is checked; a client_id, when given, must be the audience of
// the tokens (USERD_AUDIENCE), since that is who they are for.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Pragma", "no-cache")
	if err := s.grant(w, r); err != nil {
		return oauthFailure{err}
	}
	return nil
}

func (s *Server) grant(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readGrant(w, r)
	if err != nil {
		return err
	}
	return s.grantForm(w, r, f)
}

// readGrant reads the form of a request to the built-in client's token
// endpoint.
func (s *Server) readGrant(w http.ResponseWriter, r *http.Request) (tokenForm, error) {
	if r.Header.Get("Authorization") != "" {
		return tokenForm{}, errClientHeader
	}
	b, err := readBody(w, r, MaxBody)
	if err != nil {
		return tokenForm{}, err
	}
	// No Content-Type is taken for an empty body only (curl -X POST):
	// then what is missing is the grant_type.
	if ct := r.Header.Get("Content-Type"); mediaType(r) != formType && (ct != "" || len(b) > 0) {
		return tokenForm{}, &apiError{http.StatusUnsupportedMediaType, "invalid_request", fmt.Sprintf("the body must be %s (RFC 6749), not %q", formType, ct)}
	}
	return parseTokenForm(b)
}

// grantForm runs a grant of the built-in first-party client: the password
// grant (unless USERD_PASSWORD_GRANT turned it off) or the refresh token
// grant of its sessions.
func (s *Server) grantForm(w http.ResponseWriter, r *http.Request, f tokenForm) error {
	if r.Header.Get("Authorization") != "" {
		return errClientHeader
	}
	if aud := s.accounts.TokenIssuer().Audience; f.clientID != "" && f.clientID != aud {
		return &apiError{http.StatusBadRequest, "invalid_client", fmt.Sprintf("unknown client_id: leave it out, or send %q", aud)}
	}
	var t service.Tokens
	var err error
	switch f.grantType {
	case grantPassword:
		if s.noPasswordGrant {
			return &apiError{http.StatusBadRequest, "unsupported_grant_type", "the password grant is off (USERD_PASSWORD_GRANT): sign in through /oauth/authorize"}
		}
		if f.username == "" || f.password == "" {
			return invalidRequest("the password grant needs the username and password parameters")
		}
		in, err := s.accounts.Login(r.Context(), f.username, f.password, clientOf(r))
		if err != nil {
			return err
		}
		t = in.Tokens
	case grantRefreshToken:
		if f.refreshToken == "" {
			return invalidRequest("the refresh_token grant needs the refresh_token parameter")
		}
		if t, err = s.accounts.Refresh(r.Context(), f.refreshToken, clientOf(r)); err != nil {
			return err
		}
	case "":
		return invalidRequest("the grant_type parameter is missing")
	default:
		return errGrantType
	}
	// RFC 6749 §5.1, with expires_at as GoTrue sends it; token_type is
	// case-insensitive, and OAuth clients and GoTrue's spell it so.
	v := viewTokens(t)
	v.TokenType = "bearer"
	return reply(w, http.StatusOK, v)
}

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// oauthCodes are the error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1,
// which keep their status.
var oauthCodes = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "unsupported_token_type"}

// oauthCode is the RFC 6749 error code of a problem on the token
// endpoint: a refused credential or refresh token is invalid_grant (400);
// 429 keeps its status (rate_limited, with Retry-After), 503 is
// temporarily_unavailable and 500 server_error; any other client error
// keeps its status as invalid_request.
func oauthCode(p problem) (status int, code string) {
	switch {
	case slices.Contains(oauthCodes, p.Code):
		return p.Status, p.Code
	case p.Code == string(service.CodeInvalidCredentials) || p.Code == string(service.CodeInvalidToken) || p.Code == string(service.CodeAccountDisabled):
		return http.StatusBadRequest, "invalid_grant"
	case p.Status == http.StatusTooManyRequests:
		return p.Status, "rate_limited"
	case p.Status == http.StatusServiceUnavailable:
		return p.Status, "temporarily_unavailable"
	case p.Status >= 500:
		return p.Status, "server_error"
	}
	return p.Status, "invalid_request"
}

// writeOAuth writes p as the token endpoint's error: JSON, never cached.
func writeOAuth(w http.ResponseWriter, p problem) {
	status, code := oauthCode(p)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="userd"`)
	}
	_ = reply(w, status, oauthError{Error: code, Description: p.Detail})
}

// isOAuth reports whether err is an error of the token endpoint.
func isOAuth(err error) bool { return errors.As(err, new(oauthFailure)) }
