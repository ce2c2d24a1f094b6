package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// TestSocialOverHTTP drives follows, blocks, their lists and counters
// through the routes, and the refusals: each changes nothing.
func TestSocialOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, aliceID := e.signIn("social-alice", nil)
	bob, bobID := e.signIn("social-bob", nil)
	carol, carolID := e.signIn("social-carol", nil)
	at := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }

	// Follows are idempotent 204s.
	for range 2 {
		expect(t, e.do("PUT", at("/api/v1/users/%d/follow", bobID), alice, nil), http.StatusNoContent, "")
	}
	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", bobID), carol, nil), http.StatusNoContent, "")
	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", aliceID), bob, nil), http.StatusNoContent, "")
	expect(t, e.do("DELETE", at("/api/v1/users/%d/follow", carolID), alice, nil), http.StatusNoContent, "")

	stats := func(token string, id int64) map[string]any {
		t.Helper()
		r := e.do("GET", at("/api/v1/users/%d/follow-stats", id), token, nil)
		expect(t, r, http.StatusOK, "")
		return r.json(t)
	}
	if got := stats(alice, bobID); got["followers_count"] != 2.0 || got["following_count"] != 1.0 {
		t.Fatalf("bob's stats: got %v, want 2 followers, 1 following", got)
	}
	// Followers of bob, newest first, in pages of one.
	var got []int64
	path := at("/api/v1/users/%d/followers?limit=1", bobID)
	for range 5 {
		r := e.do("GET", path, alice, nil)
		expect(t, r, http.StatusOK, "")
		page := decodePage(t, r)
		for _, it := range page.Items {
			if _, ok := it["email"]; ok {
				t.Fatalf("a follower shows its email: %v", it)
			}
			got = append(got, int64(it["id"].(float64)))
		}
		if page.NextCursor == nil {
			break
		}
		path = at("/api/v1/users/%d/followers?limit=1&cursor=%s", bobID, *page.NextCursor)
	}
	if want := []int64{carolID, aliceID}; !slices.Equal(got, want) {
		t.Fatalf("bob's followers: got %v, want %v", got, want)
	}
	r := e.do("GET", at("/api/v1/users/%d/followers?limit=1", bobID), alice, nil)
	cursor := *decodePage(t, r).NextCursor

	// Refusals: each is a clear 4xx and changes nothing.
	for _, c := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"follow self", "PUT", at("/api/v1/users/%d/follow", aliceID), 422, "validation_failed"},
		{"block self", "PUT", at("/api/v1/users/%d/block", aliceID), 422, "validation_failed"},
		{"non-numeric id", "PUT", "/api/v1/users/bob/follow", 404, "not_found"},
		{"huge id", "PUT", "/api/v1/users/99999999999999999999999/follow", 404, "not_found"},
		{"negative id", "PUT", "/api/v1/users/-4/block", 404, "not_found"},
		{"unknown id", "PUT", "/api/v1/users/9223372036854775807/follow", 404, "not_found"},
		{"huge id stats", "GET", "/api/v1/users/99999999999999999999999/follow-stats", 404, "not_found"},
		{"limit 0", "GET", at("/api/v1/users/%d/followers?limit=0", bobID), 422, "validation_failed"},
		{"limit 201", "GET", at("/api/v1/users/%d/following?limit=201", bobID), 422, "validation_failed"},
		{"limit not a number", "GET", "/api/v1/users/me/blocks?limit=ten", 422, "validation_failed"},
		{"cursor of another list", "GET", at("/api/v1/users/%d/following?cursor=%s", bobID, cursor), 400, "invalid_cursor"},
		{"cursor of another user", "GET", at("/api/v1/users/%d/followers?cursor=%s", aliceID, cursor), 400, "invalid_cursor"},
		{"cursor of another list, blocks", "GET", "/api/v1/users/me/blocks?cursor=" + cursor, 400, "invalid_cursor"},
		{"tampered cursor", "GET", at("/api/v1/users/%d/followers?cursor=x%s", bobID, cursor[1:]), 400, "invalid_cursor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expect(t, e.do(c.method, c.path, alice, nil), c.status, c.code)
		})
	}
	if got := stats(bob, aliceID); got["followers_count"] != 1.0 || got["following_count"] != 1.0 {
		t.Fatalf("alice's stats after the refusals: got %v, want 1 and 1", got)
	}

	// A block removes the follows both ways; then neither may follow, and
	// the blocker's pages are not found to the blocked.
	expect(t, e.do("PUT", at("/api/v1/users/%d/block", aliceID), bob, nil), http.StatusNoContent, "")
	expect(t, e.do("PUT", at("/api/v1/users/%d/block", aliceID), bob, nil), http.StatusNoContent, "")
	if got := stats(carol, bobID); got["followers_count"] != 1.0 || got["following_count"] != 0.0 {
		t.Fatalf("bob's stats after blocking alice: got %v, want 1 follower (carol), 0 following", got)
	}
	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", bobID), alice, nil), http.StatusForbidden, "blocked")
	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", aliceID), bob, nil), http.StatusForbidden, "blocked")
	for _, p := range []string{"followers", "following", "follow-stats"} {
		expect(t, e.do("GET", at("/api/v1/users/%d/%s", bobID, p), alice, nil), http.StatusNotFound, "not_found")
	}
	expect(t, e.do("GET", at("/api/v1/users/%d", bobID), alice, nil), http.StatusNotFound, "not_found")
	r = e.do("GET", "/api/v1/users/me/blocks", bob, nil)
	expect(t, r, http.StatusOK, "")
	if items := decodePage(t, r).Items; len(items) != 1 || int64(items[0]["id"].(float64)) != aliceID {
		t.Fatalf("bob's blocks: got %v, want alice", items)
	}
	expect(t, e.do("DELETE", at("/api/v1/users/%d/block", aliceID), bob, nil), http.StatusNoContent, "")
	expect(t, e.do("DELETE", at("/api/v1/users/%d/block", aliceID), bob, nil), http.StatusNoContent, "")
	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", bobID), alice, nil), http.StatusNoContent, "")
}

// TestUnfollowDeactivatedUser: a follow of a user who is then deactivated
// still counts, so it must be removable: DELETE …/follow answers 204, and
// both counters are exact once the followee is back. Unfollowing a
// deactivated user one does not follow stays a 404, as the profile is.
func TestUnfollowDeactivatedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.userWithRole("unfollow-admin", "admin")
	alice, aliceID := e.signIn("unfollow-alice", nil)
	carol, _ := e.signIn("unfollow-carol", nil)
	_, bobID := e.signIn("unfollow-bob", nil)
	at := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }

	expect(t, e.do("PUT", at("/api/v1/users/%d/follow", bobID), alice, nil), http.StatusNoContent, "")
	expect(t, e.do("POST", at("/api/v1/users/%d/deactivate", bobID), admin, nil), http.StatusOK, "")
	expect(t, e.do("DELETE", at("/api/v1/users/%d/follow", bobID), alice, nil), http.StatusNoContent, "")
	expect(t, e.do("DELETE", at("/api/v1/users/%d/follow", bobID), carol, nil), http.StatusNotFound, "not_found")
	expect(t, e.do("POST", at("/api/v1/users/%d/reactivate", bobID), admin, nil), http.StatusOK, "")

	stats := func(id int64) map[string]any {
		t.Helper()
		r := e.do("GET", at("/api/v1/users/%d/follow-stats", id), alice, nil)
		expect(t, r, http.StatusOK, "")
		return r.json(t)
	}
	if got := stats(bobID); got["followers_count"] != 0.0 {
		t.Fatalf("bob's stats after alice unfollowed: got %v, want 0 followers", got)
	}
	if got := stats(aliceID); got["following_count"] != 0.0 {
		t.Fatalf("alice's stats after unfollowing: got %v, want 0 following", got)
	}
}
