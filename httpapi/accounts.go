package httpapi

import (
	"net/http"

	"github.com/userd/userd/service"
)

// clientOf is where r comes from: its User-Agent and the client address
// that observe found (see clientIPs: X-Forwarded-For counts only from a
// trusted proxy).
func clientOf(r *http.Request) service.Client { return ClientOf(r) }

// ClientOf is where a request served by a Server comes from (its
// User-Agent and client address), for the hosted pages registered
// through Deps.Pages.
func ClientOf(r *http.Request) service.Client {
	return service.Client{UserAgent: r.UserAgent(), IP: clientIP(r.Context())}
}

// tokensView is a token pair as OAuth 2.0 clients expect it.
type tokensView struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"` // seconds
	ExpiresAt    int64  `json:"expires_at"` // Unix seconds: the access token's exp
}

func viewTokens(t service.Tokens) tokensView {
	return tokensView{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", ExpiresIn: int64(t.ExpiresIn.Seconds()), ExpiresAt: t.ExpiresAt.Unix()}
}

// signInView is the answer to register and login.
type signInView struct {
	User userView `json:"user"`
	tokensView
}

type registerBody struct {
	Email     *string `json:"email"`
	Username  *string `json:"username"`
	Phone     *string `json:"phone"`
	Password  string  `json:"password"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
}

// signIn is the view of a register or login.
func (s *Server) signIn(in service.SignIn) signInView {
	return signInView{User: s.private(in.User), tokensView: viewTokens(in.Tokens)}
}

func (s *Server) register(q req, b registerBody) (signInView, error) {
	return then(s.signIn)(s.accounts.Register(q.Context(), service.Registration{
		Email: b.Email, Username: b.Username, Phone: b.Phone, FirstName: b.FirstName, LastName: b.LastName, Password: b.Password,
	}, clientOf(q.Request)))
}

type loginBody struct {
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

func (s *Server) login(q req, b loginBody) (signInView, error) {
	return then(s.signIn)(s.accounts.Login(q.Context(), b.Identifier, b.Password, clientOf(q.Request)))
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(q req, b refreshBody) (tokensView, error) {
	return then(viewTokens)(s.accounts.Refresh(q.Context(), b.RefreshToken, clientOf(q.Request)))
}

func (s *Server) logout(q req, b refreshBody) (none, error) {
	return done(s.accounts.Logout(q.Context(), b.RefreshToken))
}

type changePasswordBody struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(q req, b changePasswordBody) (none, error) {
	return done(s.accounts.ChangePassword(q.Context(), q.caller(), b.CurrentPassword, b.NewPassword))
}

type forgotPasswordBody struct {
	Email string `json:"email"`
}

func (s *Server) forgotPassword(q req, b forgotPasswordBody) (messageView, error) {
	return message("If an account uses this email, a link to reset its password is on its way.",
		s.accounts.ForgotPassword(q.Context(), b.Email, clientOf(q.Request)))
}

type resetPasswordBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Server) resetPassword(q req, b resetPasswordBody) (none, error) {
	return done(s.accounts.ResetPassword(q.Context(), b.Token, b.Password))
}

// tokenBody is a body that carries a one-time token: an email
// verification link, an invitation, an IdP token to link.
type tokenBody struct {
	Token string `json:"token"`
}

// verifyBody follows a verification or email-change link: signed in to
// the account, the token alone; signed out, with the account's password.
type verifyBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// verifyEmail confirms an address for the account's holder: the caller
// signed in to it, or whoever gives its password. Either way every way in
// stays.
func (s *Server) verifyEmail(q req, b verifyBody) (none, error) {
	return done(s.accounts.VerifyEmail(q.Context(), s.maybePrincipal(q.Request), b.Token, b.Password))
}

func (s *Server) resendVerification(q req) (messageView, error) {
	return message("A verification link is on its way unless the email is verified already.",
		s.accounts.ResendVerification(q.Context(), q.caller()))
}
