package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// mailedToken returns the token of the newest mail queued to address with
// a link to page (e.g. "/verify-email").
func mailedToken(t *testing.T, pool *pgxpool.Pool, address, page string) string {
	t.Helper()
	var payload []byte
	err := pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE kind = 'mail' AND payload->>'to' = $1
		AND payload->>'text' LIKE '%' || $2 || '?token=%' ORDER BY id DESC LIMIT 1`, address, page).Scan(&payload)
	if err != nil {
		t.Fatalf("mail to %s with a %s link: %v", address, page, err)
	}
	var m struct{ Text string }
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(m.Text, page+"?token=")
	tok, _, _ := strings.Cut(rest, "\n")
	tok, err = url.QueryUnescape(strings.TrimSpace(tok))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// registerEmail registers a password account with email and returns its
// id.
func registerEmail(t *testing.T, a *service.Accounts, email string) int64 {
	t.Helper()
	in, err := a.Register(context.Background(), service.Registration{Email: &email, Password: testPassword}, service.Client{})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return in.User.ID
}

// TestImportEmailChangeVoidsMailedLinks: `import --update` that changes a
// user's email spends the links mailed to the old address, as an email
// change through the API does. Otherwise the old verification link would
// prove the new, unproven address (and clear the account's other ways in),
// and the old reset link would set the password of an account that has
// moved on.
func TestImportEmailChangeVoidsMailedLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	a := newAccounts(t, db, cheapParams)
	id := registerEmail(t, a, "old@example.com")
	verify := mailedToken(t, pool, "old@example.com", "/verify-email")
	if err := a.SendReset(ctx, "old@example.com"); err != nil {
		t.Fatal(err)
	}
	reset := mailedToken(t, pool, "old@example.com", "/reset-password")

	// The line names the user by phone and gives a new email.
	if _, err := pool.Exec(ctx, `UPDATE users SET phone = '+14155550123' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	im := service.NewImporter(db, "IN")
	line := `{"phone":"+14155550123","email":"new@example.com"}` + "\n"
	res, err := im.Import(ctx, strings.NewReader(line), service.ImportOptions{Update: true})
	if err != nil || res.Updated != 1 {
		t.Fatalf("import --update: got %+v (%v), want 1 updated", res, err)
	}
	if err := a.VerifyEmail(ctx, nil, verify, testPassword); !errors.Is(err, service.ErrInvalidToken) {
		t.Fatalf("old verification link after the import: got %v, want invalid_token", err)
	}
	if err := a.ResetPassword(ctx, reset, "a brand new passphrase"); !errors.Is(err, service.ErrInvalidToken) {
		t.Fatalf("old reset link after the import: got %v, want invalid_token", err)
	}
	var verified bool
	var hasPassword int
	if err := pool.QueryRow(ctx, `SELECT email_verified, (SELECT count(*) FROM password_credentials WHERE user_id = u.id)
		FROM users u WHERE id = $1`, id).Scan(&verified, &hasPassword); err != nil {
		t.Fatal(err)
	}
	if verified || hasPassword != 1 {
		t.Fatalf("after the old links: email_verified %v, %d passwords; want false and the password kept", verified, hasPassword)
	}
	if n := count(t, pool, `SELECT count(*) FROM user_tokens WHERE user_id = $1 AND used_at IS NULL`, id); n != 0 {
		t.Fatalf("%d live links after the import changed the email, want 0", n)
	}
}

// TestMailedLinksNeedTheAccountsAddress: a verification or reset link
// works only while the account still has the address it went to, whatever
// changed the address (here a row edited under the service, which voids
// nothing): the link of the old address proves nothing and resets nothing.
func TestMailedLinksNeedTheAccountsAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	a := newAccounts(t, service.NewDB(pool), cheapParams)
	id := registerEmail(t, a, "first@example.com")
	verify := mailedToken(t, pool, "first@example.com", "/verify-email")
	if err := a.SendReset(ctx, "first@example.com"); err != nil {
		t.Fatal(err)
	}
	reset := mailedToken(t, pool, "first@example.com", "/reset-password")
	if _, err := pool.Exec(ctx, `UPDATE users SET email = 'second@example.com' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyEmail(ctx, nil, verify, testPassword); !errors.Is(err, service.ErrInvalidToken) {
		t.Fatalf("verification link of the old address: got %v, want invalid_token", err)
	}
	if err := a.ResetPassword(ctx, reset, "a brand new passphrase"); !errors.Is(err, service.ErrInvalidToken) {
		t.Fatalf("reset link of the old address: got %v, want invalid_token", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users WHERE id = $1 AND NOT email_verified`, id); n != 1 {
		t.Fatal("the old verification link proved the new address")
	}
}
