package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// The browser side of the OpenID provider: the authorization endpoint, the
// consent page, RP-initiated logout and the connected apps of the account
// area. The protocol's rules are service.OAuth's.

// authorizePath is the authorization endpoint.
const authorizePath = "/oauth/authorize"

// oauthPages are the pages of the OpenID provider (none without one).
func (h *Handler) oauthPages() map[string]pageFunc {
	if h.cfg.OAuth == nil {
		return nil
	}
	return map[string]pageFunc{
		"GET " + authorizePath:                  h.authorize,
		"POST " + authorizePath:                 h.authorizeDecision,
		"GET /oauth/logout":                     h.oauthLogout,
		"GET /account/apps":                     h.account(h.appsPage),
		"POST /account/apps/{client_id}/revoke": h.account(h.revokeApp),
	}
}

// The sign-in → authorize return path. A browser without a session (or
// whose session is too old for the request) goes to the sign-in page with
// redirect_to naming the authorization request again, a local path that
// Redirects.Check accepts; after signing in it comes back here. Freshness
// demands (prompt=login, max_age) become auth_after, the time the
// sign-in must follow, so the request does not loop.

// authAfterParam carries the time a sign-in must follow, in Unix seconds.
const authAfterParam = "auth_after"

// signInFor sends the browser to the sign-in page and back to the
// authorization request q; fresh demands a sign-in after now.
func signInFor(w http.ResponseWriter, r *http.Request, q url.Values, loginHint string, fresh bool) error {
	back := url.Values{}
	for k, v := range q {
		if k != "prompt" && k != "max_age" && k != authAfterParam {
			back[k] = v
		}
	}
	if fresh {
		back.Set(authAfterParam, strconv.FormatInt(time.Now().Unix(), 10))
	} else if v := q.Get(authAfterParam); v != "" {
		back.Set(authAfterParam, v)
	}
	to := url.Values{"redirect_to": {authorizePath + "?" + back.Encode()}}
	if loginHint != "" {
		to.Set("identifier", loginHint)
	}
	http.Redirect(w, r, "/signin?"+to.Encode(), http.StatusFound)
	return nil
}

// returnOrigins are the origins a page whose form leads back to an
// authorization request (redirectTo) may end up at: its client's redirect
// URIs. Chromium checks a form's redirects against the page's form-action,
// so the sign-in and consent pages list them.
func (h *Handler) returnOrigins(r *http.Request, redirectTo string) []string {
	if h.cfg.OAuth == nil || !strings.HasPrefix(redirectTo, authorizePath+"?") {
		return nil
	}
	q, err := url.ParseQuery(strings.TrimPrefix(redirectTo, authorizePath+"?"))
	if err != nil {
		return nil
	}
	a, ok, err := h.cfg.OAuth.CheckAuthorization(r.Context(), authorizationRequest(q))
	if !ok && err != nil {
		return nil
	}
	return []string{origin(a.RedirectURI)}
}

// authorizationRequest reads an authorization request's parameters.
func authorizationRequest(q url.Values) service.AuthorizationRequest {
	return service.AuthorizationRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), ResponseType: q.Get("response_type"),
		ResponseMode: q.Get("response_mode"), Scope: q.Get("scope"), State: q.Get("state"), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"), Prompt: q.Get("prompt"),
		MaxAge: q.Get("max_age"), LoginHint: q.Get("login_hint"), ACRValues: q.Get("acr_values"),
		Request: q.Get("request"), RequestURI: q.Get("request_uri"),
	}
}

// reply sends the browser back to the client: code or error, with state
// and iss (RFC 9207) added to the redirect URI's own query.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, a service.Authorization, params url.Values) error {
	u, err := url.Parse(a.RedirectURI)
	if err != nil {
		return err
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	q.Set("iss", h.cfg.OAuth.Issuer())
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
	return nil
}

// replyError sends err back to the client when it may go there, else
// shows it.
func (h *Handler) replyError(w http.ResponseWriter, r *http.Request, a service.Authorization, redirectable bool, err error) error {
	var oe *service.OAuthError
	if !errors.As(err, &oe) {
		return err
	}
	if !redirectable {
		v := h.newView(nil)
		v.Data["Title"] = "This sign-in link does not work"
		v.Data["Message"] = "The application sent an invalid request (" + oe.Code + ": " + oe.Description + "). Go back to it and try again."
		return h.render(w, r, http.StatusBadRequest, "done", v)
	}
	return h.reply(w, r, a, url.Values{"error": {oe.Code}, "error_description": {oe.Description}})
}

// authorize is GET /oauth/authorize (OpenID Connect Core §3.1.2).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, s *state) error {
	q := r.URL.Query()
	a, redirectable, err := h.cfg.OAuth.CheckAuthorization(r.Context(), authorizationRequest(q))
	if err != nil {
		return h.replyError(w, r, a, redirectable, err)
	}
	if s.principal == nil {
		if a.PromptNone {
			return h.replyError(w, r, a, true, &service.OAuthError{Code: service.ErrOAuthLoginRequired.Code, Description: "nobody is signed in"})
		}
		return signInFor(w, r, q, a.LoginHint, a.PromptLogin || a.MaxAge == 0)
	}
	ac, err := h.cfg.OAuth.BrowserAuthContext(r.Context(), *s.principal)
	if err != nil {
		return err
	}
	if stale(a, ac, q.Get(authAfterParam)) {
		if a.PromptNone {
			return h.replyError(w, r, a, true, &service.OAuthError{Code: service.ErrOAuthLoginRequired.Code, Description: "the sign-in is older than max_age"})
		}
		// A new sign-in: the sign-in page takes only a signed-out browser.
		if err := h.cfg.Accounts.WebSignOut(r.Context(), s.token); err != nil {
			return err
		}
		h.clearCookie(w)
		return signInFor(w, r, q, a.LoginHint, true)
	}
	consent, err := h.cfg.OAuth.NeedsConsent(r.Context(), *s.principal, a)
	if err != nil {
		return err
	}
	if consent {
		if a.PromptNone {
			return h.replyError(w, r, a, true, &service.OAuthError{Code: service.ErrOAuthConsentRequired.Code, Description: "the user has not consented"})
		}
		return h.consentPage(w, r, s, a, q)
	}
	return h.grant(w, r, s, a, ac)
}

// stale reports whether the sign-in behind ac is too old for a: prompt=login
// or max_age ask for a newer one, unless it followed authAfter.
func stale(a service.Authorization, ac service.AuthContext, authAfter string) bool {
	if t, err := strconv.ParseInt(authAfter, 10, 64); err == nil && !ac.AuthTime.Before(time.Unix(t, 0)) {
		return false
	}
	if a.PromptLogin {
		return true
	}
	return a.MaxAge >= 0 && time.Since(ac.AuthTime) > a.MaxAge
}

// grant issues the code and sends it to the client.
func (h *Handler) grant(w http.ResponseWriter, r *http.Request, s *state, a service.Authorization, ac service.AuthContext) error {
	code, err := h.cfg.OAuth.IssueCode(r.Context(), *s.principal, a, ac)
	if err != nil {
		return err
	}
	return h.reply(w, r, a, url.Values{"code": {code}})
}

// scopeWords say what each scope lets a client see, on the consent page.
var scopeWords = map[string]string{
	service.ScopeOpenID:        "Know who you are (your account ID)",
	service.ScopeProfile:       "See your name, username and picture",
	service.ScopeEmail:         "See your email address",
	service.ScopePhone:         "See your phone number",
	service.ScopeOfflineAccess: "Stay connected when you are not using it",
}

// consentPage asks the user whether a's client may have its scopes. The
// form posts the request back with the decision.
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, s *state, a service.Authorization, q url.Values) error {
	v := h.newView(s)
	v.FormOrigins = []string{origin(a.RedirectURI)}
	var words []string
	for _, sc := range a.Scopes {
		words = append(words, scopeWords[sc])
	}
	type param struct{ Name, Value string }
	var params []param
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "prompt" || k == authAfterParam {
			continue
		}
		params = append(params, param{k, q.Get(k)})
	}
	v.Data["Client"] = a.Client.Name
	v.Data["Scopes"] = words
	v.Data["Params"] = params
	v.Data["Host"] = hostOf(a.RedirectURI)
	return h.render(w, r, http.StatusOK, "consent", v)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// authorizeDecision is the consent form's POST: allow records the consent
// and issues the code; anything else answers access_denied.
func (h *Handler) authorizeDecision(w http.ResponseWriter, r *http.Request, s *state) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	a, redirectable, err := h.cfg.OAuth.CheckAuthorization(r.Context(), authorizationRequest(r.PostForm))
	if err != nil {
		return h.replyError(w, r, a, redirectable, err)
	}
	if s.principal == nil {
		return signInFor(w, r, r.PostForm, a.LoginHint, false)
	}
	if r.PostFormValue("decision") != "allow" {
		return h.replyError(w, r, a, true, &service.OAuthError{Code: service.ErrOAuthAccessDenied.Code, Description: "the user declined"})
	}
	ac, err := h.cfg.OAuth.BrowserAuthContext(r.Context(), *s.principal)
	if err != nil {
		return err
	}
	if err := h.cfg.OAuth.GrantConsent(r.Context(), *s.principal, a); err != nil {
		return err
	}
	return h.grant(w, r, s, a, ac)
}

// oauthLogout is GET /oauth/logout (OpenID Connect RP-Initiated Logout):
// with an ID token of userd's for a registered client, it signs the
// browser out, ends the token's session and goes to the
// post_logout_redirect_uri if that client registered it. Without one it
// goes to the sign-out page, which asks first; it never redirects
// anywhere else.
func (h *Handler) oauthLogout(w http.ResponseWriter, r *http.Request, s *state) error {
	q := r.URL.Query()
	to, ok, err := h.cfg.OAuth.Logout(r.Context(), service.LogoutRequest{
		IDTokenHint: q.Get("id_token_hint"), ClientID: q.Get("client_id"),
		PostLogoutRedirectURI: q.Get("post_logout_redirect_uri"), State: q.Get("state"),
	})
	if err != nil {
		return err
	}
	if !ok {
		return redirect(w, r, "/signout")
	}
	if err := h.cfg.Accounts.WebSignOut(r.Context(), s.token); err != nil {
		return err
	}
	h.clearCookie(w)
	if to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	v := h.newView(nil)
	v.Data["Title"] = "Signed out"
	v.Data["Message"] = "You are signed out of " + h.cfg.Brand.Name + "."
	v.Data["SignIn"] = true
	return h.render(w, r, http.StatusOK, "done", v)
}

// appsPage lists the connected apps: the clients the user consented to.
func (h *Handler) appsPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	apps, err := h.cfg.OAuth.ConnectedApps(r.Context(), p)
	if err != nil {
		return err
	}
	v := h.newView(s)
	if r.URL.Query().Has("revoked") {
		v.Notice = "The app is disconnected and signed out."
	}
	type app struct {
		ID, Name, Scopes, Since string
	}
	var list []app
	for _, a := range apps {
		list = append(list, app{ID: a.ClientID, Name: a.Name, Scopes: strings.Join(a.Scopes, ", "), Since: a.GrantedAt.UTC().Format("2 January 2006")})
	}
	v.Data["Apps"] = list
	return h.render(w, r, http.StatusOK, "apps", v)
}

// revokeApp disconnects an app: the consent goes, its tokens stop working.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request, _ *state, p service.Principal) error {
	if err := h.cfg.OAuth.RevokeApp(r.Context(), p, r.PathValue("client_id")); err != nil {
		return err
	}
	return redirect(w, r, "/account/apps?revoked=1")
}
