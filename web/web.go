// Package web serves userd's hosted pages: sign up, sign in, the pages
// mailed links open (verify an email, confirm an email change, reset a
// password, accept an invitation) and the account area. Pages are
// html/template files embedded in the binary; they call the same service
// methods as the JSON API and hold no rule of their own. Every page works
// without JavaScript and ships none.
//
// A signed-in browser holds the cookie __Host-userd_session, naming a
// sessions row of kind web (service.Accounts.WebPrincipal). Every POST is
// checked by http.CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host); every answer carries a Content-Security-Policy without
// inline script and with frame-ancestors 'none'.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/userd/userd/service"
)

// Brand is how the pages present themselves (USERD_BRAND_*).
type Brand struct {
	Name    string // shown in the header and the title: "userd" by default
	Color   string // a CSS hex colour for buttons: "#1a4fb5" by default
	LogoURL string // an https (or, in dev, http) image URL shown beside the name; "": none
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// CheckColor reports whether c is a colour USERD_BRAND_COLOR accepts:
// #rgb or #rrggbb.
func CheckColor(c string) bool { return hexColor.MatchString(c) }

// Config wires the pages.
type Config struct {
	Log       *slog.Logger
	Accounts  *service.Accounts
	Users     *service.Users
	Orgs      *service.Orgs
	Templates *Templates // nil: the embedded ones
	Brand     Brand
	Redirects Redirects
	// Insecure drops the cookie's Secure attribute, and so its __Host-
	// prefix, which browsers refuse without it: dev over plain http only.
	Insecure bool
	// Client is where a request comes from (user agent, client address),
	// as the API reads it: login limits and session records use it.
	Client func(*http.Request) service.Client
	// Export is the caller's data export as the JSON API answers it.
	Export func(ctx context.Context, by service.Principal) ([]byte, error)
	// OAuth is the OpenID provider whose browser side the pages serve
	// (/oauth/authorize, /oauth/logout, connected apps); nil: none.
	OAuth *service.OAuth

	// The admin console (/admin, admin.go): served when Admin is set.
	// Social and Webhooks are optional (no follow counts, no webhooks
	// page without them).
	Admin    *service.Admin
	Social   *service.Social
	Webhooks *service.Webhooks
}

// Handler serves the pages.
type Handler struct {
	cfg Config
	tpl *Templates
	csp string
	// cspHead is csp up to its form-action's sources, for a page that adds
	// some (view.FormOrigins).
	cspHead string
	style   []byte
	cookie  string
	cop     *http.CrossOriginProtection
}

// SessionCookie is the name of the browser session's cookie.
const SessionCookie = "__Host-userd_session"

// insecureCookie is its name in dev over http, where a __Host- cookie
// (which must be Secure) would be refused.
const insecureCookie = "userd_session"

// New returns the pages' handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Templates == nil {
		cfg.Templates = DefaultTemplates()
	}
	if cfg.Brand.Name == "" {
		cfg.Brand.Name = "userd"
	}
	if !CheckColor(cfg.Brand.Color) {
		cfg.Brand.Color = "#1a4fb5"
	}
	if cfg.Client == nil {
		cfg.Client = func(r *http.Request) service.Client { return service.Client{UserAgent: r.UserAgent()} }
	}
	h := &Handler{cfg: cfg, tpl: cfg.Templates, cookie: SessionCookie, cop: http.NewCrossOriginProtection()}
	if cfg.Insecure {
		h.cookie = insecureCookie
	}
	h.style = append([]byte(":root { --brand: "+cfg.Brand.Color+"; }\n"), styleCSS...)
	img := "'self'"
	if o := origin(cfg.Brand.LogoURL); o != "" {
		img += " " + o
	}
	formAction := strings.Join(append([]string{"'self'"}, cfg.Redirects.Origins()...), " ")
	h.cspHead = "default-src 'none'; style-src 'self'; img-src " + img + "; form-action " + formAction
	h.csp = h.cspHead + cspTail
	return h
}

// cspTail ends every page's Content-Security-Policy.
const cspTail = "; frame-ancestors 'none'; base-uri 'none'"

// origin is scheme://host of an absolute URL, "" for anything else.
func origin(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "@;' \"") {
		return ""
	}
	return scheme + "://" + host
}

// Register registers every page with handle (the API server's, so pages
// share its request ids, logs, metrics, client addresses and database
// timeout).
func (h *Handler) Register(handle func(pattern string, handler http.Handler)) {
	handle("GET /assets/style.css", http.HandlerFunc(h.serveStyle))
	for pattern, p := range h.routes() {
		handle(pattern, h.page(p))
	}
	for pattern, p := range h.oauthPages() {
		handle(pattern, h.page(p))
	}
	for pattern, p := range h.adminRoutes() {
		handle(pattern, h.page(p))
	}
}

// routes is every page: the one place to read them from.
func (h *Handler) routes() map[string]pageFunc {
	return map[string]pageFunc{
		"GET /signin":   h.signInPage,
		"POST /signin":  h.signIn,
		"GET /signup":   h.signUpPage,
		"POST /signup":  h.signUp,
		"GET /signout":  h.signOutPage,
		"POST /signout": h.signOut,

		"GET /forgot-password":    h.forgotPage,
		"POST /forgot-password":   h.forgot,
		"GET /reset-password":     h.resetPage,
		"POST /reset-password":    h.reset,
		"GET /verify-email":       h.verifyPage,
		"POST /verify-email":      h.verify,
		"GET /confirm-email":      h.verifyPage,
		"POST /confirm-email":     h.verify,
		"GET /accept-invitation":  h.invitationPage,
		"POST /accept-invitation": h.acceptInvitation,

		"GET /account":                        h.account(h.profilePage),
		"POST /account":                       h.account(h.saveProfile),
		"GET /account/password":               h.account(h.passwordPage),
		"POST /account/password":              h.account(h.changePassword),
		"GET /account/email":                  h.account(h.emailPage),
		"POST /account/email":                 h.account(h.changeEmail),
		"POST /account/email/resend":          h.account(h.resendVerification),
		"GET /account/identities":             h.account(h.identitiesPage),
		"POST /account/identities/{provider}": h.account(h.unlinkIdentity),
		"GET /account/sessions":               h.account(h.sessionsPage),
		"POST /account/sessions/{id}/revoke":  h.account(h.revokeSession),
		"POST /account/sessions/revoke-all":   h.account(h.signOutEverywhere),
		"GET /account/export":                 h.account(h.export),
		"GET /account/delete":                 h.account(h.deletePage),
		"POST /account/delete":                h.account(h.deleteAccount),
	}
}

func (h *Handler) serveStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.style)
}

// state is what a page handler knows of its request.
type state struct {
	// principal is the signed-in caller; nil when signed out.
	principal *service.Principal
	token     string // the session cookie's token, as sent
}

// pageFunc is a page's handler: it renders or redirects, or returns an
// error, which page renders as the error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *state) error

// page wraps a page handler: security headers, the CSRF check of POSTs,
// the browser session.
func (h *Handler) page(p pageFunc) http.Handler {
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer") // links carry tokens
		hd.Set("Cache-Control", "no-store")
		s := &state{}
		if c, err := r.Cookie(h.cookie); err == nil && c.Value != "" {
			s.token = c.Value
			pr, err := h.cfg.Accounts.WebPrincipal(r.Context(), c.Value, h.cfg.Client(r))
			switch {
			case err == nil:
				s.principal = &pr
			case errors.Is(err, service.ErrInvalidToken), errors.Is(err, service.ErrAccountDisabled):
				h.clearCookie(w) // revoked, expired or disabled: signed out
			default:
				h.fail(w, r, s, err)
				return
			}
		}
		if err := p(w, r, s); err != nil {
			h.fail(w, r, s, err)
		}
	})
	return h.cop.Handler(serve)
}

// setCookie hands the browser its session token.
func (h *Handler) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookie, Value: token, Path: "/", HttpOnly: true, Secure: !h.cfg.Insecure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(h.cfg.Accounts.WebAbsoluteTTL.Seconds()),
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.cookie, Value: "", Path: "/", HttpOnly: true, Secure: !h.cfg.Insecure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// view is what a page template sees.
type view struct {
	Brand      Brand
	User       *service.User     // signed in; nil when not
	Form       map[string]string // the values a form was sent with
	Errors     map[string]string // by field; "" is the form's own
	Notice     string
	RedirectTo string
	Data       map[string]any
	// FormOrigins are origins the page's forms may lead to beyond the
	// site's own: an OAuth client's, after a sign-in or a consent.
	FormOrigins []string
}

// newView is the view of a page for s.
func (h *Handler) newView(s *state) *view {
	v := &view{Brand: h.cfg.Brand, Form: map[string]string{}, Errors: map[string]string{}, Data: map[string]any{}}
	if s != nil && s.principal != nil {
		u := s.principal.User
		v.User = &u
	}
	return v
}

// render writes page name with v and status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) error {
	t, ok := h.tpl.pages[name]
	if !ok {
		return errors.New("web: no page template " + name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return err
	}
	if extra := slices.DeleteFunc(slices.Clone(v.FormOrigins), func(o string) bool { return o == "" }); len(extra) > 0 {
		w.Header().Set("Content-Security-Policy", h.cspHead+" "+strings.Join(extra, " ")+cspTail)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write([]byte(b.String()))
	if err != nil {
		h.cfg.Log.DebugContext(r.Context(), "page not written", "err", err)
	}
	return nil
}

// redirect sends the browser on after a POST (303: it GETs the target).
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// next is where a form goes after its action: its redirect_to when
// allowed, else def.
func (h *Handler) next(r *http.Request, def string) string {
	if to := h.cfg.Redirects.Check(r.FormValue("redirect_to")); to != "" {
		return to
	}
	return def
}
