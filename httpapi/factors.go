package httpapi

import (
	"net/http"
	"time"

	"github.com/userd/userd/service"
)

// factorRoutes registers the second-factor routes (docs/mfa.md).
func (s *Server) factorRoutes() {
	s.handle("POST /api/v1/auth/login/factor", body(http.StatusOK, s.completeSignIn))
	s.handle("GET /api/v1/users/me/factors", s.authed(get(s.getFactors)))
	s.handle("POST /api/v1/users/me/factors/totp", s.authed(act(http.StatusCreated, s.enrollTOTP)))
	s.handle("POST /api/v1/users/me/factors/totp/confirm", s.authed(body(http.StatusOK, s.confirmTOTP)))
	s.handle("POST /api/v1/users/me/factors/totp/remove", s.authed(body(http.StatusNoContent, s.removeTOTP)))
	s.handle("POST /api/v1/users/me/factors/recovery-codes", s.authed(body(http.StatusOK, s.regenerateRecoveryCodes)))
	s.handle("POST /api/v1/users/me/factors/step-up", s.authed(body(http.StatusNoContent, s.stepUp)))
	s.handle("GET /api/v1/users/{id}/factors", s.may(service.PermManageUsers, get(s.getUserFactors)))
	s.handle("DELETE /api/v1/users/{id}/factors", s.may(service.PermManageUsers, act(http.StatusNoContent, s.resetUserFactors)))
}

// factorsView is which second factors an account has; never a secret.
type factorsView struct {
	Methods           []string   `json:"methods"`
	TOTP              bool       `json:"totp"`
	TOTPSince         *time.Time `json:"totp_since"`
	RecoveryCodesLeft int        `json:"recovery_codes_left"`
}

func viewFactors(f service.Factors) factorsView {
	return factorsView{Methods: f.Methods(), TOTP: f.TOTPSince != nil, TOTPSince: f.TOTPSince, RecoveryCodesLeft: f.RecoveryCodesLeft}
}

// codeBody carries a code of a second factor: six digits of an
// authenticator, or a recovery code.
type codeBody struct {
	Code string `json:"code"`
}

type completeSignInBody struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
}

func (s *Server) completeSignIn(q req, b completeSignInBody) (signInView, error) {
	return then(s.signIn)(s.accounts.CompleteSignIn(q.Context(), b.ChallengeID, b.Code, clientOf(q.Request)))
}

func (s *Server) getFactors(q req) (factorsView, error) {
	return then(viewFactors)(s.accounts.Factors(q.Context(), q.callerID()))
}

type totpEnrollmentView struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

func (s *Server) enrollTOTP(q req) (totpEnrollmentView, error) {
	e, err := s.accounts.EnrollTOTP(q.Context(), q.caller())
	return totpEnrollmentView{Secret: e.Secret, OTPAuthURI: e.URI}, err
}

// recoveryCodesView shows new recovery codes, once.
type recoveryCodesView struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func viewCodes(codes []string) recoveryCodesView {
	if codes == nil {
		codes = []string{}
	}
	return recoveryCodesView{RecoveryCodes: codes}
}

func (s *Server) confirmTOTP(q req, b codeBody) (recoveryCodesView, error) {
	return then(viewCodes)(s.accounts.ConfirmTOTP(q.Context(), q.caller(), b.Code))
}

func (s *Server) removeTOTP(q req, b codeBody) (none, error) {
	return done(s.accounts.RemoveTOTP(q.Context(), q.caller(), b.Code))
}

func (s *Server) regenerateRecoveryCodes(q req, b codeBody) (recoveryCodesView, error) {
	return then(viewCodes)(s.accounts.RegenerateRecoveryCodes(q.Context(), q.caller(), b.Code))
}

func (s *Server) stepUp(q req, b codeBody) (none, error) {
	return done(s.accounts.StepUp(q.Context(), q.caller(), b.Code))
}

func (s *Server) getUserFactors(q req) (factorsView, error) {
	id, err := pathID(q.Request)
	if err != nil {
		return factorsView{}, err
	}
	return then(viewFactors)(s.accounts.UserFactors(q.Context(), q.caller(), id))
}

func (s *Server) resetUserFactors(q req) (none, error) {
	id, err := pathID(q.Request)
	if err != nil {
		return none{}, err
	}
	return done(s.accounts.ResetFactors(q.Context(), q.caller(), id))
}
