package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserTOTP sets up an authenticator app in the account area (the
// QR code drawn inline, the key beside it), then signs in with a code of
// it and with a recovery code, in Chromium.
func TestBrowserTOTP(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("two.step@example.com")
	if sec := time.Now().Unix() % 30; sec > 20 { // stay within one step's window
		time.Sleep(time.Duration(31-sec) * time.Second)
	}
	d := s.device(t, "laptop")
	d.open("/signin")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "two.step@example.com", "password": testPassword})
	d.heading("Your account")
	d.click(`a[href="/account/factors"]`)
	d.heading("Two-step sign-in")
	d.click(`form[action="/account/factors/totp"] button`)
	d.heading("Set up an authenticator app")
	if n, err := do(d, chromedp.Evaluate[int](`document.querySelectorAll("main svg.qr path").length`)); err != nil || n != 1 {
		t.Fatalf("got %d QR code paths (%v), want an inline SVG", n, err)
	}
	key, err := do(d, chromedp.Text(chromedp.CSS(`main code`)))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.ReplaceAll(strings.TrimSpace(key), " ", "")
	now := time.Now()
	code := func(d time.Duration) string {
		c, err := totp.GenerateCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	d.submit(`form[action="/account/factors/totp/confirm"]`, map[string]string{"code": code(0)})
	d.heading("Your recovery codes")
	raw, err := do(d, chromedp.Text(chromedp.CSS(`ul.codes`)))
	if err != nil {
		t.Fatal(err)
	}
	codes := strings.Fields(raw)
	if len(codes) != 10 {
		t.Fatalf("got recovery codes %q, want 10", codes)
	}

	d.click(`header form[action="/signout"] button`)
	d.heading("Sign in")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "two.step@example.com", "password": testPassword})
	d.heading("Two-step sign-in")
	// The code that confirmed the app was used already.
	d.submit(`form[action="/signin/factor"]`, map[string]string{"code": code(0)})
	d.heading("Two-step sign-in")
	d.expectText("This code is not correct")
	d.open("/account")
	d.heading("Sign in") // no session until the second step
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "two.step@example.com", "password": testPassword})
	d.heading("Two-step sign-in")
	d.submit(`form[action="/signin/factor"]`, map[string]string{"code": code(30 * time.Second)})
	d.heading("Your account")

	// A recovery code signs in once.
	d.click(`header form[action="/signout"] button`)
	d.heading("Sign in")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "two.step@example.com", "password": testPassword})
	d.heading("Two-step sign-in")
	d.submit(`form[action="/signin/factor"]`, map[string]string{"code": codes[0]})
	d.heading("Your account")
	d.open("/account/factors")
	d.heading("Two-step sign-in")
	d.expectText("9 unused recovery codes")

	// A sensitive change asks for a code first once the sign-in is old.
	if _, err := s.db.Pool.Exec(t.Context(), `UPDATE sessions SET factor_at = now() - interval '1 hour' WHERE factor_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	d.open("/account/password")
	d.submit(`form[action="/account/password"]`, map[string]string{"current_password": testPassword, "new_password": "a newer passphrase"})
	d.heading("Confirm it is you")
	d.submit(`form[action="/account/factors/verify"]`, map[string]string{"code": codes[1]})
	d.heading("Change your password")
	d.submit(`form[action="/account/password"]`, map[string]string{"current_password": testPassword, "new_password": "a newer passphrase"})
	d.heading("Change your password")
	d.expectText("Your password is changed")
}
