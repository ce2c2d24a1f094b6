package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
)

// call sends method path with a bearer token (none when "") and a JSON
// body (none when nil), and returns the status and the decoded body.
func call(t *testing.T, client *http.Client, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// devToken mints a dev IdP token for sub with the data dir's dev secret.
func mintDevToken(t *testing.T, dataDir, sub string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev-token", "--sub", sub)
	cmd.Env = append(os.Environ(), "USERD_TEST_RUN_MAIN=1", "USERD_ENV=dev", "USERD_DATA_DIR="+dataDir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dev-token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestTwoProcessesSeeChangesWithin100ms runs two `userd serve` processes
// on one database, each with its caches on. A principal is answered (and
// so cached) by B; A deactivates, deletes, changes the role of, or revokes
// the session of it; B answers accordingly within 100 ms of A's answer.
func TestTwoProcessesSeeChangesWithin100ms(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	dataDir := t.TempDir()
	a := startUserd(t, dbURL, dataDir)
	b := startUserd(t, dbURL, dataDir)
	client := &http.Client{Timeout: 10 * time.Second}
	me := func(p *userdProcess, tok string) (int, map[string]any) {
		return call(t, client, "GET", p.base+"/api/v1/users/me", tok, nil)
	}
	// signUp registers a local account on A and signs it in: its access
	// and refresh tokens, and its id.
	signUp := func(name string) (string, string, int64) {
		status, body := call(t, client, "POST", a.base+"/api/v1/auth/register", "", map[string]any{"username": name, "password": "correct horse battery"})
		if status != http.StatusCreated {
			t.Fatalf("register %s: got %d %v", name, status, body)
		}
		status, body = call(t, client, "POST", a.base+"/api/v1/auth/login", "", map[string]any{"identifier": name, "password": "correct horse battery"})
		if status != http.StatusOK {
			t.Fatalf("login %s: got %d %v", name, status, body)
		}
		_, u := me(a, body["access_token"].(string))
		return body["access_token"].(string), body["refresh_token"].(string), int64(u["id"].(float64))
	}
	adminTok, _, adminID := signUp("boss")
	ctx := context.Background()
	conn, err := dburl.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE users SET role = 'admin' WHERE id = $1", adminID); err != nil {
		t.Fatal(err)
	}

	// within makes sure B answers tok 200 twice (the second from its
	// cache), has A act, and then polls B until taken(B's answer) holds,
	// failing after 100 ms.
	within := func(name, tok string, act func(), taken func(int, map[string]any) bool) {
		t.Helper()
		for range 2 {
			if status, body := me(b, tok); status != http.StatusOK {
				t.Fatalf("%s: before: got %d %v from B, want 200", name, status, body)
			}
		}
		act()
		start := time.Now()
		for {
			status, body := me(b, tok)
			if taken(status, body) {
				t.Logf("%s: seen by B after %s", name, time.Since(start).Round(time.Microsecond))
				return
			}
			if time.Since(start) > 100*time.Millisecond {
				t.Fatalf("%s: B still answers %d %v 100 ms after A's answer", name, status, body)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	refused := func(status int, _ map[string]any) bool {
		return status == http.StatusUnauthorized || status == http.StatusForbidden
	}
	mustA := func(what string, want, status int, body map[string]any) {
		t.Helper()
		if status != want {
			t.Fatalf("%s on A: got %d %v, want %d", what, status, body, want)
		}
	}

	tok, _, id := signUp("deactivated")
	within("deactivate", tok, func() {
		status, body := call(t, client, "POST", fmt.Sprintf("%s/api/v1/users/%d/deactivate", a.base, id), adminTok, nil)
		mustA("deactivate", http.StatusOK, status, body)
	}, refused)

	tok, _, id = signUp("deleted")
	within("delete", tok, func() {
		status, body := call(t, client, "DELETE", fmt.Sprintf("%s/api/v1/users/%d", a.base, id), adminTok, nil)
		mustA("delete", http.StatusOK, status, body)
	}, refused)

	// An IdP user: a role change shows in /users/me (the sessions it
	// revokes are userd's own, of which this user has none).
	idpTok := mintDevToken(t, dataDir, "promoted")
	_, u := me(a, idpTok)
	id = int64(u["id"].(float64))
	within("role change", idpTok, func() {
		status, body := call(t, client, "PUT", fmt.Sprintf("%s/api/v1/users/%d/role", a.base, id), adminTok, map[string]any{"role": "agent"})
		mustA("role change", http.StatusOK, status, body)
	}, func(status int, body map[string]any) bool { return status == http.StatusOK && body["role"] == "agent" })

	// Session revocation: the user's first session revokes the second.
	first, _, _ := signUp("revoked")
	status, body := call(t, client, "POST", a.base+"/api/v1/auth/login", "", map[string]any{"identifier": "revoked", "password": "correct horse battery"})
	mustA("second login", http.StatusOK, status, body)
	second := body["access_token"].(string)
	status, body = call(t, client, "GET", a.base+"/api/v1/users/me/sessions", second, nil)
	mustA("list sessions", http.StatusOK, status, body)
	var secondID int64
	for _, it := range body["items"].([]any) {
		if s := it.(map[string]any); s["current"] == true {
			secondID = int64(s["id"].(float64))
		}
	}
	within("session revoke", second, func() {
		status, body := call(t, client, "DELETE", fmt.Sprintf("%s/api/v1/users/me/sessions/%d", a.base, secondID), first, nil)
		mustA("session revoke", http.StatusNoContent, status, body)
	}, refused)

	// Logout ends the session its refresh token belongs to.
	access, refresh, _ := signUp("loggedout")
	within("logout", access, func() {
		status, body := call(t, client, "POST", a.base+"/api/v1/auth/logout", "", map[string]any{"refresh_token": refresh})
		mustA("logout", http.StatusNoContent, status, body)
	}, refused)

	// The first session, untouched, still works on B.
	if status, body := me(b, first); status != http.StatusOK {
		t.Fatalf("the other session on B: got %d %v, want 200", status, body)
	}
}
