package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/boombuler/barcode/qr"

	"github.com/userd/userd/service"
)

// Second factors in the pages (docs/mfa.md): the code step of a sign-in,
// the authenticator's set-up with its QR code (an inline SVG drawn here, no
// script, no outside service), recovery codes, and the step-up page that
// sensitive actions send the browser to.

// mfaRoutes are the pages of second factors.
func (h *Handler) mfaRoutes() map[string]pageFunc {
	return map[string]pageFunc{
		"POST /signin/factor":                  h.signInFactor,
		"GET /account/factors":                 h.account(h.factorsPage),
		"POST /account/factors/totp":           h.account(h.enrollTOTP),
		"POST /account/factors/totp/confirm":   h.account(h.confirmTOTP),
		"POST /account/factors/totp/remove":    h.account(h.removeTOTP),
		"POST /account/factors/recovery-codes": h.account(h.regenerateCodes),
		"GET /account/factors/verify":          h.account(h.stepUpPage),
		"POST /account/factors/verify":         h.account(h.stepUp),
	}
}

// factorStep renders the code step of a sign-in whose password was right
// (err is mfa_required with its challenge).
func (h *Handler) factorStep(w http.ResponseWriter, r *http.Request, s *state, challenge string, status int, failed error) error {
	v := h.formView(r, s)
	v.Data["Challenge"] = challenge
	if failed != nil {
		st, ok := formErrors(w, v, failed)
		if !ok {
			return failed
		}
		if st == http.StatusUnauthorized {
			v.Errors["code"] = "This code is not correct, or was used already."
			delete(v.Errors, "")
		}
		status = st
	}
	return h.render(w, r, status, "mfa_signin", v)
}

func (h *Handler) signInFactor(w http.ResponseWriter, r *http.Request, s *state) error {
	challenge := r.PostFormValue("challenge")
	ws, err := h.cfg.Accounts.WebCompleteSignIn(r.Context(), challenge, r.PostFormValue("code"), h.cfg.Client(r), s.token)
	if err != nil {
		if e, ok := service.ErrorOf(err); ok && e.Code == service.CodeInvalidToken {
			v := h.formView(r, s, "identifier")
			v.Errors[""] = "The sign-in took too long. Please sign in again."
			return h.render(w, r, http.StatusUnauthorized, "signin", v)
		}
		return h.factorStep(w, r, s, challenge, http.StatusOK, err)
	}
	h.setCookie(w, ws.Token)
	return redirect(w, r, h.next(r, "/account"))
}

// factorsPage shows the account's second factors and what can be done.
func (h *Handler) factorsPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	return h.factors(w, r, s, p, http.StatusOK, nil)
}

func (h *Handler) factors(w http.ResponseWriter, r *http.Request, s *state, p service.Principal, status int, failed error) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	f, err := h.cfg.Accounts.Factors(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	v.Data["Factors"] = f
	switch {
	case r.URL.Query().Has("removed"):
		v.Notice = "The authenticator is removed. Your account signs in with its password alone."
	case r.URL.Query().Has("verified"):
		v.Notice = "Confirmed. You can go on."
	}
	if failed != nil {
		st, ok := formErrors(w, v, failed)
		if !ok {
			return failed
		}
		status = st
	}
	return h.render(w, r, status, "factors", v)
}

func (h *Handler) enrollTOTP(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	e, err := h.cfg.Accounts.EnrollTOTP(r.Context(), p)
	if err != nil {
		return h.factors(w, r, s, p, http.StatusOK, err)
	}
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	svg, err := qrSVG(e.URI)
	if err != nil {
		return err
	}
	v.Data["QR"], v.Data["Secret"] = svg, groupSecret(e.Secret)
	return h.render(w, r, http.StatusOK, "factors_enroll", v)
}

func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	codes, err := h.cfg.Accounts.ConfirmTOTP(r.Context(), p, r.PostFormValue("code"))
	if err != nil {
		v, verr := h.accountView(r, s, p)
		if verr != nil {
			return verr
		}
		status, ok := formErrors(w, v, err)
		if !ok {
			return err
		}
		return h.render(w, r, status, "factors_enroll", v)
	}
	return h.showCodes(w, r, s, p, codes, "Your authenticator is set up.")
}

// showCodes shows new recovery codes, the one time they are shown.
func (h *Handler) showCodes(w http.ResponseWriter, r *http.Request, s *state, p service.Principal, codes []string, notice string) error {
	if len(codes) == 0 {
		return redirect(w, r, "/account/factors")
	}
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	v.Notice, v.Data["Codes"] = notice, codes
	return h.render(w, r, http.StatusOK, "recovery_codes", v)
}

func (h *Handler) removeTOTP(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if err := h.cfg.Accounts.RemoveTOTP(r.Context(), p, r.PostFormValue("code")); err != nil {
		return h.factors(w, r, s, p, http.StatusOK, err)
	}
	return redirect(w, r, "/account/factors?removed=1")
}

func (h *Handler) regenerateCodes(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	codes, err := h.cfg.Accounts.RegenerateRecoveryCodes(r.Context(), p, r.PostFormValue("code"))
	if err != nil {
		return h.factors(w, r, s, p, http.StatusOK, err)
	}
	return h.showCodes(w, r, s, p, codes, "Your new recovery codes replace the old ones.")
}

// stepUpPage asks for a code before a sensitive action (password or email
// change, deletion), then goes back to it (next, a path of the account
// area).
func (h *Handler) stepUpPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	v.Data["Next"] = accountPath(r.FormValue("next"))
	return h.render(w, r, http.StatusOK, "factors_verify", v)
}

func (h *Handler) stepUp(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	next := accountPath(r.PostFormValue("next"))
	if err := h.cfg.Accounts.StepUp(r.Context(), p, r.PostFormValue("code")); err != nil {
		v, verr := h.accountView(r, s, p)
		if verr != nil {
			return verr
		}
		v.Data["Next"] = next
		status, ok := formErrors(w, v, err)
		if !ok {
			return err
		}
		return h.render(w, r, status, "factors_verify", v)
	}
	return redirect(w, r, next+"?verified=1")
}

// accountPath is next when it is a path of the account area, else
// /account/factors.
func accountPath(next string) string {
	if strings.HasPrefix(next, "/account") && !strings.ContainsAny(next, "?#\\") && !strings.Contains(next, "//") {
		return next
	}
	return "/account/factors"
}

// stepUpRedirect sends the browser to confirm a factor before going back to
// the page it came from.
func stepUpRedirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/account/factors/verify?"+url.Values{"next": {accountPath(r.URL.Path)}}.Encode(), http.StatusSeeOther)
}

// groupSecret writes a base32 secret in groups of four, for typing.
func groupSecret(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// qrSVG draws the QR code of text as an inline SVG, one path of the dark
// modules, with a quiet zone of four modules.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	n := code.Bounds().Dx()
	var d strings.Builder
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&d, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	size := n + 8
	// Every value is a number or a fixed string: nothing of text reaches
	// the markup except as modules.
	return template.HTML(fmt.Sprintf( //nolint:gosec // built from numbers only
		`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="QR code of the authenticator's secret" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*5, size*5, size, size, d.String())), nil
}
