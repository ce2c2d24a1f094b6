package httpapi

import (
	"net/http"
	"net/netip"

	"github.com/userd/userd/service"
)

// clientOf is where r comes from: its User-Agent and the client address
// that observe found (see clientIPs: X-Forwarded-For counts only from a
// trusted proxy).
func clientOf(r *http.Request) service.Client {
	ip, _ := r.Context().Value(keyClientIP).(netip.Addr)
	return service.Client{UserAgent: r.UserAgent(), IP: ip}
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

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var b registerBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	in, err := s.accounts.Register(r.Context(), service.Registration{
		Email: b.Email, Username: b.Username, Phone: b.Phone, FirstName: b.FirstName, LastName: b.LastName, Password: b.Password,
	}, clientOf(r))
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, signInView{User: s.private(in.User), tokensView: viewTokens(in.Tokens)})
}

type loginBody struct {
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var b loginBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	in, err := s.accounts.Login(r.Context(), b.Identifier, b.Password, clientOf(r))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, signInView{User: s.private(in.User), tokensView: viewTokens(in.Tokens)})
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var b refreshBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	t, err := s.accounts.Refresh(r.Context(), b.RefreshToken, clientOf(r))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewTokens(t))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var b refreshBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.accounts.Logout(r.Context(), b.RefreshToken); err != nil {
		return err
	}
	return noContent(w)
}

type changePasswordBody struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var b changePasswordBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.accounts.ChangePassword(r.Context(), principal(r.Context()), b.CurrentPassword, b.NewPassword); err != nil {
		return err
	}
	return noContent(w)
}

type forgotPasswordBody struct {
	Email string `json:"email"`
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var b forgotPasswordBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.accounts.ForgotPassword(r.Context(), b.Email, clientOf(r)); err != nil {
		return err
	}
	return reply(w, http.StatusAccepted, map[string]string{"message": "If an account uses this email, a link to reset its password is on its way."})
}

type resetPasswordBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var b resetPasswordBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.accounts.ResetPassword(r.Context(), b.Token, b.Password); err != nil {
		return err
	}
	return noContent(w)
}

type verifyEmailBody struct {
	Token string `json:"token"`
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var b verifyEmailBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	// Signed in to the account the link is for, the caller keeps its other
	// ways in; otherwise the link's follower is left alone in it.
	if err := s.accounts.VerifyEmail(r.Context(), b.Token, s.maybePrincipal(r)); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.ResendVerification(r.Context(), principal(r.Context()).User.ID); err != nil {
		return err
	}
	return reply(w, http.StatusAccepted, map[string]string{"message": "A verification link is on its way unless the email is verified already."})
}
