package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/userd/userd/service"
)

// A page shows a service error beside the field it concerns (a validation
// error, a taken address) or at the top of its form (wrong credentials, a
// limit). Errors a form cannot show become the error page (fail). The
// words are the pages'; what is an error is service's.

// formErrors puts err into v for the form that caused it and returns the
// status to answer with; ok is false for an error no form shows (the
// error page's).
func formErrors(w http.ResponseWriter, v *view, err error) (status int, ok bool) {
	e, isDomain := service.ErrorOf(err)
	if !isDomain {
		return 0, false
	}
	switch e.Code {
	case service.CodeValidation:
		for _, f := range e.Fields {
			if _, seen := v.Errors[f.Field]; !seen {
				v.Errors[f.Field] = capitalize(f.Message)
			}
		}
		if len(e.Fields) == 0 {
			v.Errors[""] = "Please check the form."
		}
		return http.StatusUnprocessableEntity, true
	case service.CodeInvalidCredentials:
		// The same words for every failure: nothing tells an account exists.
		v.Errors[""] = "The sign-in details are not correct."
		return http.StatusUnauthorized, true
	case service.CodeEmailTaken:
		v.Errors["email"] = "This email address is already in use."
		return http.StatusConflict, true
	case service.CodeUsernameTaken:
		v.Errors["username"] = "This username is already in use."
		return http.StatusConflict, true
	case service.CodePhoneTaken:
		v.Errors["phone"] = "This phone number is already in use."
		return http.StatusConflict, true
	case service.CodeRateLimited:
		retry(w, e.RetryAfter)
		v.Errors[""] = "Too many attempts. Please wait " + waitWords(e.RetryAfter) + " and try again."
		return http.StatusTooManyRequests, true
	case service.CodeOverloaded:
		retry(w, e.RetryAfter)
		v.Errors[""] = "The service is busy. Please try again in a moment."
		return http.StatusServiceUnavailable, true
	}
	return 0, false
}

func retry(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// waitWords says a wait in words: "a minute", "5 minutes".
func waitWords(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return strconv.Itoa(m) + " minutes"
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// fail renders the error page of err: a sentence for the person, never
// internals; unknown errors are logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *state, err error) {
	status, title, msg := http.StatusInternalServerError, "Something went wrong", "The page could not be shown. Please try again."
	if e, ok := service.ErrorOf(err); ok {
		switch e.Code {
		case service.CodeInvalidToken:
			status, title, msg = http.StatusBadRequest, "This link does not work", "The link is invalid, was used already or has expired. Ask for a new one."
		case service.CodeNotFound:
			status, title, msg = http.StatusNotFound, "Not found", "There is nothing here."
		case service.CodeForbidden:
			status, title, msg = http.StatusForbidden, "Not allowed", "This is not yours to do."
		case service.CodeAccountDisabled:
			status, title, msg = http.StatusForbidden, "Account disabled", "This account is disabled."
		case service.CodeAlreadyMember:
			status, title, msg = http.StatusConflict, "Already in an organization", "Your account belongs to an organization already: leave it first."
		case service.CodeSeatLimit:
			status, title, msg = http.StatusConflict, "No seat left", "The organization has no seat left on its plan. Ask its admin."
		case service.CodeLastAdmin:
			status, title, msg = http.StatusConflict, "The last admin", "The last admin cannot do that: make someone else an admin first."
		case service.CodeStepUpRequired:
			stepUpRedirect(w, r) // mfa.go
			return
		case service.CodeRateLimited:
			retry(w, e.RetryAfter)
			status, title, msg = http.StatusTooManyRequests, "Too many attempts", "Please wait "+waitWords(e.RetryAfter)+" and try again."
		case service.CodeDBUnavailable, service.CodeOverloaded, service.CodeIdPUnavailable:
			retry(w, e.RetryAfter)
			status, title, msg = http.StatusServiceUnavailable, "Temporarily unavailable", "Please try again in a moment."
		default:
			h.cfg.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		}
	} else if !errors.Is(err, http.ErrAbortHandler) {
		h.cfg.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	}
	v := h.newView(s)
	v.Data["Title"], v.Data["Message"] = title, msg
	if err := h.render(w, r, status, "error", v); err != nil {
		h.cfg.Log.ErrorContext(r.Context(), "error page failed", "err", err)
		http.Error(w, msg, status)
	}
}
