package sql_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/pgtest"
)

func TestMigrationsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	if err := migrate.Up(ctx, url, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	st, err := migrate.Status(ctx, url)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Fatalf("after up: got %s not applied, want every migration applied", m.Version)
		}
	}
	for range st {
		if err := migrate.Down(ctx, url, nil); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	conn, err := dburl.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("after down: got %d tables, want 0", tables)
	}
	if err := migrate.Check(ctx, conn); !errors.Is(err, migrate.ErrBehind) {
		t.Fatalf("Check after down: got %v, want ErrBehind", err)
	}
	if err := migrate.Up(ctx, url, nil); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if err := migrate.Check(ctx, conn); err != nil {
		t.Fatalf("Check after up: got %v, want nil", err)
	}
}

// exec runs statements in order, failing the test on any error.
func exec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const (
	checkViolation      = "23514"
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	notNullViolation    = "23502"
)

// The fixture every invariant case starts from: users 1 (alice) and 2 (bob),
// organization 1, permission group org_admin.
var fixture = []string{
	`INSERT INTO organizations (name) VALUES ('Acme')`,
	`INSERT INTO users (username, email, phone) VALUES ('alice', 'alice@example.com', '+919876543210')`,
	`INSERT INTO users (username, email, phone) VALUES ('bob', 'bob@example.com', '+14155552671')`,
}

func TestInvariants(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		setup      []string // good neighbours: must succeed
		bad        string
		code       string
		constraint string
	}{
		{"username too short", nil, `INSERT INTO users (username) VALUES ('ab')`, checkViolation, "users_username_chk"},
		{"username upper case", nil, `INSERT INTO users (username) VALUES ('Carol')`, checkViolation, "users_username_chk"},
		{"username bad char", nil, `INSERT INTO users (username) VALUES ('car-ol')`, checkViolation, "users_username_chk"},
		{"username too long", nil, `INSERT INTO users (username) VALUES (repeat('a', 65))`, checkViolation, "users_username_chk"},
		{"username taken", []string{`INSERT INTO users (username) VALUES (repeat('a', 64))`}, `INSERT INTO users (username) VALUES ('alice')`, uniqueViolation, "users_username_key"},
		{"email without at", nil, `INSERT INTO users (email) VALUES ('nope')`, checkViolation, "users_email_chk"},
		{"email taken", nil, `INSERT INTO users (email) VALUES ('alice@example.com')`, uniqueViolation, "users_email_key"},
		{"email not canonical", nil, `INSERT INTO users (email) VALUES ('Carol@example.com')`, checkViolation, "users_email_canonical_chk"},
		{"email local part not ascii", nil, `INSERT INTO users (email) VALUES ('carоl@example.com')`, checkViolation, "users_email_canonical_chk"},
		{"pending email not canonical", nil, `UPDATE users SET pending_email = 'New@example.com' WHERE username = 'alice'`, checkViolation, "users_pending_email_canonical_chk"},
		{"email reused after soft delete", []string{
			`UPDATE users SET deleted_at = now(), is_active = false WHERE username = 'bob'`,
			`INSERT INTO users (email) VALUES ('bob@example.com')`,
		}, `INSERT INTO users (email) VALUES ('bob@example.com')`, uniqueViolation, "users_email_key"},
		{"phone not E.164", nil, `INSERT INTO users (phone) VALUES ('9876543210')`, checkViolation, "users_phone_chk"},
		{"phone leading zero", nil, `INSERT INTO users (phone) VALUES ('+0123456789')`, checkViolation, "users_phone_chk"},
		{"phone too long", []string{`INSERT INTO users (phone) VALUES ('+123456789012345')`}, `INSERT INTO users (phone) VALUES ('+1234567890123456')`, checkViolation, "users_phone_chk"},
		{"phone too short", []string{`INSERT INTO users (phone) VALUES ('+1234567')`}, `INSERT INTO users (phone) VALUES ('+123456')`, checkViolation, "users_phone_chk"},
		{"phone taken", []string{
			`INSERT INTO users (phone) VALUES ('+449876543210')`, // same last 10 digits: allowed
		}, `INSERT INTO users (phone) VALUES ('+919876543210')`, uniqueViolation, "users_phone_key"},
		{"phone reused after soft delete", []string{
			`UPDATE users SET deleted_at = now(), is_active = false WHERE username = 'alice'`,
			`INSERT INTO users (phone) VALUES ('+919876543210')`,
		}, `INSERT INTO users (phone) VALUES ('+919876543210')`, uniqueViolation, "users_phone_key"},
		{"first name too long", []string{`INSERT INTO users (first_name) VALUES (repeat('é', 50))`}, `INSERT INTO users (first_name) VALUES (repeat('a', 51))`, checkViolation, "users_first_name_chk"},
		{"last name too long", nil, `INSERT INTO users (last_name) VALUES (repeat('a', 51))`, checkViolation, "users_last_name_chk"},
		{"bio too long", []string{`INSERT INTO users (bio) VALUES (repeat('b', 140))`}, `INSERT INTO users (bio) VALUES (repeat('b', 141))`, checkViolation, "users_bio_chk"},
		{"date of birth too old", nil, `INSERT INTO users (date_of_birth) VALUES ('1899-12-31')`, checkViolation, "users_date_of_birth_chk"},
		{"instagram with at", []string{`INSERT INTO users (instagram_handle) VALUES ('a.b_c1')`}, `INSERT INTO users (instagram_handle) VALUES ('@abc')`, checkViolation, "users_instagram_handle_chk"},
		{"instagram too long", nil, `INSERT INTO users (instagram_handle) VALUES (repeat('a', 31))`, checkViolation, "users_instagram_handle_chk"},
		{"country lower case", []string{`INSERT INTO users (country) VALUES ('IN')`}, `INSERT INTO users (country) VALUES ('in')`, checkViolation, "users_country_chk"},
		{"country three letters", nil, `INSERT INTO users (country) VALUES ('IND')`, checkViolation, "users_country_chk"},
		{"city too long", nil, `INSERT INTO users (city) VALUES (repeat('c', 101))`, checkViolation, "users_city_chk"},
		{"zipcode too long", nil, `INSERT INTO users (zipcode) VALUES (repeat('1', 21))`, checkViolation, "users_zipcode_chk"},
		{"avatar too long", nil, `INSERT INTO users (avatar) VALUES (repeat('a', 2049))`, checkViolation, "users_avatar_chk"},
		{"unknown role", nil, `INSERT INTO users (role) VALUES ('superuser')`, checkViolation, "users_role_chk"},
		{"artist without artist_id", []string{`INSERT INTO users (role, artist_id) VALUES ('artist', 7)`}, `INSERT INTO users (role) VALUES ('artist')`, checkViolation, "users_artist_id_chk"},
		{"artist_id on non-artist", nil, `INSERT INTO users (role, artist_id) VALUES ('agent', 7)`, checkViolation, "users_artist_id_chk"},
		{"organization missing", nil, `INSERT INTO users (organization_id) VALUES (999)`, foreignKeyViolation, "users_organization_id_fkey"},
		{"preferences array", []string{`INSERT INTO users (preferences) VALUES ('{"a": [1]}')`}, `INSERT INTO users (preferences) VALUES ('[1]')`, checkViolation, "users_preferences_chk"},
		{"preferences too big", nil, `INSERT INTO users (preferences) VALUES (jsonb_build_object('k', repeat('x', 16400)))`, checkViolation, "users_preferences_chk"},
		{"latitude out of range", []string{`INSERT INTO users (current_latitude, current_longitude) VALUES (-90, 180)`}, `INSERT INTO users (current_latitude, current_longitude) VALUES (90.5, 0)`, checkViolation, "users_latitude_chk"},
		{"longitude out of range", nil, `INSERT INTO users (current_latitude, current_longitude) VALUES (0, -180.1)`, checkViolation, "users_longitude_chk"},
		{"latitude without longitude", nil, `INSERT INTO users (current_latitude) VALUES (10)`, checkViolation, "users_location_pair_chk"},
		{"unknown auth method", nil, `INSERT INTO users (last_auth_method, last_auth_method_at) VALUES ('carrier_pigeon', now())`, checkViolation, "users_last_auth_method_chk"},
		{"auth method without time", []string{`INSERT INTO users (last_auth_method, last_auth_method_at) VALUES ('google', now())`}, `INSERT INTO users (last_auth_method) VALUES ('password')`, checkViolation, "users_last_auth_pair_chk"},
		{"auth time without method", nil, `INSERT INTO users (last_auth_method_at) VALUES (now())`, checkViolation, "users_last_auth_pair_chk"},
		{"deleted but active", nil, `INSERT INTO users (deleted_at) VALUES (now())`, checkViolation, "users_deleted_inactive_chk"},
		{"updated before created", nil, `INSERT INTO users (created_at, updated_at) VALUES (now(), now() - interval '1 day')`, checkViolation, "users_updated_at_chk"},
		{"email verified without email", []string{`INSERT INTO users (email, email_verified) VALUES ('v@example.com', true)`}, `INSERT INTO users (email_verified) VALUES (true)`, checkViolation, "users_email_verified_chk"},
		{"phone verified without phone", []string{`INSERT INTO users (phone, phone_verified) VALUES ('+14155550100', true)`}, `INSERT INTO users (phone_verified) VALUES (true)`, checkViolation, "users_phone_verified_chk"},
		{"token without email", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) VALUES (1, 'password_reset', sha256('t'), now() + interval '1 h')`, notNullViolation, ""},
		{"audit unknown actor", nil, `INSERT INTO audit_events (actor_id, action) VALUES (999, 'x.y')`, foreignKeyViolation, "audit_events_actor_id_fkey"},
		{"audit unknown target", nil, `INSERT INTO audit_events (target_user_id, action) VALUES (999, 'x.y')`, foreignKeyViolation, "audit_events_target_user_id_fkey"},
		{"avatar thumbnail too big", nil, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/png', '\x89'::bytea, 'image/png', decode(repeat('00', 2097153), 'hex'), repeat('ab', 32))`, checkViolation, "avatars_thumbnail_size_chk"},
		{"avatar thumbnail gif", nil, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/png', '\x89'::bytea, 'image/gif', '\x89'::bytea, repeat('ab', 32))`, checkViolation, "avatars_thumbnail_type_chk"},
		{"avatar unknown user", nil, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (999, 'image/png', '\x89'::bytea, 'image/png', '\x89'::bytea, repeat('ab', 32))`, foreignKeyViolation, "avatars_user_id_fkey"},
		{"block unknown blocked", nil, `INSERT INTO blocks (blocker_id, blocked_id) VALUES (1, 999)`, foreignKeyViolation, "blocks_blocked_id_fkey"},
		{"block unknown blocker", nil, `INSERT INTO blocks (blocker_id, blocked_id) VALUES (999, 1)`, foreignKeyViolation, "blocks_blocker_id_fkey"},
		{"follow stats unknown user", nil, `INSERT INTO follow_stats (user_id) VALUES (999)`, foreignKeyViolation, "follow_stats_user_id_fkey"},
		{"follow unknown follower", nil, `INSERT INTO follows (follower_id, followee_id) VALUES (999, 1)`, foreignKeyViolation, "follows_follower_id_fkey"},
		{"invitation unknown acceptor", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at, accepted_at, accepted_by) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day', now(), 999)`, foreignKeyViolation, "invitations_accepted_by_fkey"},
		{"invitation unknown inviter", nil, `INSERT INTO invitations (organization_id, inviter_id, email, token_hash, expires_at) VALUES (1, 999, 'x@example.com', sha256('1'), now() + interval '1 day')`, foreignKeyViolation, "invitations_inviter_id_fkey"},
		{"invitation already expired", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('1'), now())`, checkViolation, "invitations_expires_at_chk"},
		{"invitation hash not sha256", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', 'abc'::bytea, now() + interval '1 day')`, checkViolation, "invitations_hash_chk"},
		{"invitation hash duplicate", []string{`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day')`}, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'y@example.com', sha256('1'), now() + interval '1 day')`, uniqueViolation, "invitations_token_hash_key"},
		{"organization updated before created", nil, `INSERT INTO organizations (name, created_at, updated_at) VALUES ('O', now(), now() - interval '1 day')`, checkViolation, "organizations_updated_at_chk"},
		{"outbox unknown user", nil, `INSERT INTO outbox (kind, user_id, payload) VALUES ('mail', 999, '{}')`, foreignKeyViolation, "outbox_user_id_fkey"},
		{"password unknown user", nil, `INSERT INTO password_credentials (user_id, hash) VALUES (999, '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g')`, foreignKeyViolation, "password_credentials_user_id_fkey"},
		{"group description too long", nil, `INSERT INTO permission_groups (name, kind, description) VALUES ('g1', 'system', repeat('d', 501))`, checkViolation, "permission_groups_description_chk"},
		{"plan empty name", nil, `INSERT INTO plans (code, name) VALUES ('p1', '')`, checkViolation, "plans_name_chk"},
		{"refresh token unknown session", nil, `INSERT INTO session_refresh_tokens (token_hash, session_id) VALUES (sha256('r'), 999)`, foreignKeyViolation, "session_refresh_tokens_session_id_fkey"},
		{"session user agent too long", nil, `INSERT INTO sessions (user_id, user_agent, expires_at) VALUES (1, repeat('u', 513), now() + interval '1 day')`, checkViolation, "sessions_user_agent_chk"},
		{"session unknown user", nil, `INSERT INTO sessions (user_id, expires_at) VALUES (999, now() + interval '1 day')`, foreignKeyViolation, "sessions_user_id_fkey"},
		{"identity email too long", nil, `INSERT INTO user_identities (user_id, provider, subject, email) VALUES (1, 'supabase', 's', repeat('e', 255))`, checkViolation, "user_identities_email_chk"},
		{"identity phone not E.164", nil, `INSERT INTO user_identities (user_id, provider, subject, phone) VALUES (1, 'supabase', 's', '98765')`, checkViolation, "user_identities_phone_chk"},
		{"identity phone too short", []string{`INSERT INTO user_identities (user_id, provider, subject, phone) VALUES (1, 'supabase', 's', '+1234567')`}, `INSERT INTO user_identities (user_id, provider, subject, phone) VALUES (2, 'supabase', 't', '+123456')`, checkViolation, "user_identities_phone_chk"},
		{"identity phone too long", []string{`INSERT INTO user_identities (user_id, provider, subject, phone) VALUES (1, 'supabase', 's', '+123456789012345')`}, `INSERT INTO user_identities (user_id, provider, subject, phone) VALUES (2, 'supabase', 't', '+1234567890123456')`, checkViolation, "user_identities_phone_chk"},
		{"membership unknown user", nil, `INSERT INTO user_permission_groups (user_id, group_id) VALUES (999, 1)`, foreignKeyViolation, "user_permission_groups_user_id_fkey"},
		{"token used before created", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, created_at, expires_at, used_at) VALUES (1, 'password_reset', sha256('t'), 'a@b.c', now(), now() + interval '1 h', now() - interval '1 h')`, checkViolation, "user_tokens_used_at_chk"},
		{"token unknown user", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (999, 'password_reset', sha256('t'), 'a@b.c', now() + interval '1 h')`, foreignKeyViolation, "user_tokens_user_id_fkey"},
		{"role null", nil, `INSERT INTO users (role) VALUES (NULL)`, notNullViolation, ""},

		{"identity duplicate subject", []string{`INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'supabase', 'sub-1')`}, `INSERT INTO user_identities (user_id, provider, subject) VALUES (2, 'supabase', 'sub-1')`, uniqueViolation, "user_identities_provider_subject_key"},
		{"identity second of provider", []string{`INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'supabase', 'sub-1')`, `INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'google', 'sub-1')`}, `INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'supabase', 'sub-2')`, uniqueViolation, "user_identities_user_provider_key"},
		{"identity bad provider", nil, `INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'Supa Base', 's')`, checkViolation, "user_identities_provider_chk"},
		{"identity empty subject", nil, `INSERT INTO user_identities (user_id, provider, subject) VALUES (1, 'supabase', '')`, checkViolation, "user_identities_subject_chk"},
		{"identity unknown user", nil, `INSERT INTO user_identities (user_id, provider, subject) VALUES (99, 'supabase', 's')`, foreignKeyViolation, "user_identities_user_id_fkey"},

		{"password hash of no accepted form", []string{`INSERT INTO password_credentials (user_id, hash) VALUES (1, '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g')`}, `INSERT INTO password_credentials (user_id, hash) VALUES (2, '$2a$10$abcdefghijklmnopqrstuv')`, checkViolation, "password_credentials_hash_chk"},
		{"password hash sha512-crypt", []string{
			`INSERT INTO password_credentials (user_id, hash) VALUES (1, '$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm')`,
			`DELETE FROM password_credentials`,
			`INSERT INTO password_credentials (user_id, hash) VALUES (1, 'pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=')`,
		}, `INSERT INTO password_credentials (user_id, hash) VALUES (2, '$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21')`, checkViolation, "password_credentials_hash_chk"},
		{"import action unknown", []string{`INSERT INTO import_staging (batch, line, action) VALUES (1, 1, 'insert')`}, `INSERT INTO import_staging (batch, line, action) VALUES (1, 2, 'upsert')`, checkViolation, "import_staging_action_chk"},
		{"second password", []string{`INSERT INTO password_credentials (user_id, hash) VALUES (1, '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g')`}, `INSERT INTO password_credentials (user_id, hash) VALUES (1, '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g')`, uniqueViolation, "password_credentials_pkey"},

		{"session expires before created", nil, `INSERT INTO sessions (user_id, expires_at) VALUES (1, now() - interval '1 s')`, checkViolation, "sessions_expires_at_chk"},
		{"session revoked without reason", nil, `INSERT INTO sessions (user_id, expires_at, revoked_at) VALUES (1, now() + interval '1 day', now())`, checkViolation, "sessions_revoked_pair_chk"},
		{"session unknown revoke reason", nil, `INSERT INTO sessions (user_id, expires_at, revoked_at, revoked_reason) VALUES (1, now() + interval '1 day', now(), 'bored')`, checkViolation, "sessions_revoked_reason_chk"},
		{"session of an unknown kind", nil, `INSERT INTO sessions (user_id, expires_at, kind) VALUES (1, now() + interval '1 day', 'cli')`, checkViolation, "sessions_kind_chk"},
		{"web session without its cookie hash", nil, `INSERT INTO sessions (user_id, expires_at, kind) VALUES (1, now() + interval '1 day', 'web')`, checkViolation, "sessions_web_token_chk"},
		{"api session with a cookie hash", nil, `INSERT INTO sessions (user_id, expires_at, web_token_hash) VALUES (1, now() + interval '1 day', sha256('c'))`, checkViolation, "sessions_web_token_chk"},
		{"web session short cookie hash", nil, `INSERT INTO sessions (user_id, expires_at, kind, web_token_hash) VALUES (1, now() + interval '1 day', 'web', '\x00'::bytea)`, checkViolation, "sessions_web_token_hash_chk"},
		{"web session cookie hash reused", []string{`INSERT INTO sessions (user_id, expires_at, kind, web_token_hash) VALUES (1, now() + interval '1 day', 'web', sha256('c'))`},
			`INSERT INTO sessions (user_id, expires_at, kind, web_token_hash) VALUES (1, now() + interval '1 day', 'web', sha256('c'))`, uniqueViolation, "sessions_web_token_key"},
		{"refresh token short hash", []string{`INSERT INTO sessions (user_id, expires_at) VALUES (1, now() + interval '1 day')`}, `INSERT INTO session_refresh_tokens (token_hash, session_id) VALUES ('\x00'::bytea, (SELECT max(id) FROM sessions))`, checkViolation, "session_refresh_tokens_hash_chk"},
		{"refresh token reused hash", []string{
			`INSERT INTO sessions (user_id, expires_at) VALUES (1, now() + interval '1 day')`,
			`INSERT INTO session_refresh_tokens (token_hash, session_id) VALUES (sha256('a'), (SELECT max(id) FROM sessions))`,
		}, `INSERT INTO session_refresh_tokens (token_hash, session_id) VALUES (sha256('a'), (SELECT max(id) FROM sessions))`, uniqueViolation, "session_refresh_tokens_pkey"},

		{"token unknown purpose", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'login', sha256('t'), 'a@b.c', now() + interval '1 h')`, checkViolation, "user_tokens_purpose_chk"},
		{"token hash not sha256", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'password_reset', 'abc'::bytea, 'a@b.c', now() + interval '1 h')`, checkViolation, "user_tokens_hash_chk"},
		{"token already expired", nil, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'password_reset', sha256('t'), 'a@b.c', now())`, checkViolation, "user_tokens_expires_at_chk"},
		{"token hash duplicate", []string{`INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'password_reset', sha256('t'), 'a@b.c', now() + interval '1 h')`}, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (2, 'email_verification', sha256('t'), 'a@b.c', now() + interval '1 h')`, uniqueViolation, "user_tokens_token_hash_key"},

		{"follow self", []string{`INSERT INTO follows (follower_id, followee_id) VALUES (1, 2)`, `INSERT INTO follows (follower_id, followee_id) VALUES (2, 1)`}, `INSERT INTO follows (follower_id, followee_id) VALUES (1, 1)`, checkViolation, "follows_no_self_chk"},
		{"follow twice", []string{`INSERT INTO follows (follower_id, followee_id) VALUES (1, 2)`}, `INSERT INTO follows (follower_id, followee_id) VALUES (1, 2)`, uniqueViolation, "follows_pkey"},
		{"follow unknown user", nil, `INSERT INTO follows (follower_id, followee_id) VALUES (1, 99)`, foreignKeyViolation, "follows_followee_id_fkey"},
		{"follow counter negative", nil, `UPDATE follow_stats SET followers_count = -1 WHERE user_id = 1`, checkViolation, "follow_stats_followers_count_chk"},
		{"following counter negative", nil, `UPDATE follow_stats SET following_count = following_count - 1 WHERE user_id = 2`, checkViolation, "follow_stats_following_count_chk"},
		{"block self", []string{`INSERT INTO blocks (blocker_id, blocked_id) VALUES (1, 2)`, `INSERT INTO blocks (blocker_id, blocked_id) VALUES (2, 1)`}, `INSERT INTO blocks (blocker_id, blocked_id) VALUES (2, 2)`, checkViolation, "blocks_no_self_chk"},
		{"block twice", []string{`INSERT INTO blocks (blocker_id, blocked_id) VALUES (1, 2)`}, `INSERT INTO blocks (blocker_id, blocked_id) VALUES (1, 2)`, uniqueViolation, "blocks_pkey"},
		{"follow delta of two", []string{`INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (1, 2, -1)`}, `INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (1, 2, 2)`, checkViolation, "follow_stat_deltas_delta_chk"},

		{"organization import key taken", []string{`UPDATE organizations SET import_key = 'acme' WHERE name = 'Acme'`, `INSERT INTO organizations (name, import_key) VALUES ('Acme', 'acme-2')`},
			`INSERT INTO organizations (name, import_key) VALUES ('Acme', 'acme')`, uniqueViolation, "organizations_import_key_key"},
		{"oauth client id too short", nil,
			`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes) VALUES ('short', 'App', true, '{https://a.example/cb}', '{authorization_code}', '{openid}')`, checkViolation, "oauth_clients_id_chk"},
		{"oauth public client with a secret", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', true, sha256('s'), '{https://a.example/cb}', '{authorization_code}', '{openid}')`, checkViolation, "oauth_clients_secret_chk"},
		{"oauth confidential client without a secret", nil,
			`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', false, '{https://a.example/cb}', '{authorization_code}', '{openid}')`, checkViolation, "oauth_clients_secret_chk"},
		{"oauth secret hash not sha-256", nil,
			`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', false, 'short', '{}', '{client_credentials}', '{}')`, checkViolation, "oauth_clients_secret_hash_chk"},
		{"oauth password grant", nil,
			`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', false, sha256('s'), '{https://a.example/cb}', '{password}', '{openid}')`, checkViolation, "oauth_clients_grant_types_chk"},
		{"oauth public client_credentials", nil,
			`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', true, '{https://a.example/cb}', '{authorization_code,client_credentials}', '{openid}')`, checkViolation, "oauth_clients_public_grants_chk"},
		{"oauth code flow without redirect uri", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0002', 'Svc', false, sha256('s'), '{}', '{client_credentials}', '{}')`},
			`INSERT INTO oauth_clients (id, name, public, secret_hash, grant_types, scopes) VALUES ('client-0003', 'App', false, sha256('s'), '{authorization_code}', '{openid}')`, checkViolation, "oauth_clients_code_redirect_chk"},
		{"oauth unknown scope", nil,
			`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes) VALUES ('client-0003', 'App', true, '{https://a.example/cb}', '{authorization_code}', '{openid,admin}')`, checkViolation, "oauth_clients_scopes_chk"},
		{"oauth code living past 60 s", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, created_at) VALUES (sha256('d'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '61 seconds', now() - interval '1 second')`, checkViolation, "oauth_codes_ttl_chk"},
		{"oauth code challenge not S256", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, code_challenge) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds', 'plain-verifier')`, checkViolation, "oauth_codes_challenge_chk"},
		{"oauth code with a session but unused", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO sessions (user_id, expires_at) VALUES ((SELECT id FROM users WHERE username = 'alice'), now() + interval '1 day')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, session_id) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds', (SELECT max(id) FROM sessions))`, checkViolation, "oauth_codes_session_used_chk"},
		{"oauth consent without scopes", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES ((SELECT id FROM users WHERE username = 'alice'), 'client-0001', '{openid}')`},
			`INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES ((SELECT id FROM users WHERE username = 'bob'), 'client-0001', '{}')`, checkViolation, "oauth_consents_scopes_chk"},
		{"client session without its scopes", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO sessions (user_id, expires_at, client_id, scopes, auth_time, amr, acr) VALUES ((SELECT id FROM users WHERE username = 'alice'), now() + interval '1 day', 'client-0001', '{openid}', now(), '{pwd}', 'aal1')`},
			`INSERT INTO sessions (user_id, expires_at, client_id) VALUES ((SELECT id FROM users WHERE username = 'alice'), now() + interval '1 day', 'client-0001')`, checkViolation, "sessions_client_chk"},
		{"client browser session", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO sessions (user_id, kind, web_token_hash, expires_at, client_id, scopes, auth_time, amr, acr) VALUES ((SELECT id FROM users WHERE username = 'alice'), 'web', sha256('w'), now() + interval '1 day', 'client-0001', '{openid}', now(), '{pwd}', 'aal1')`, checkViolation, "sessions_client_kind_chk"},
		{"session of no client", nil,
			`INSERT INTO sessions (user_id, expires_at, client_id, scopes, auth_time, amr, acr) VALUES ((SELECT id FROM users WHERE username = 'alice'), now() + interval '1 day', 'nobody-here', '{openid}', now(), '{pwd}', 'aal1')`, foreignKeyViolation, "sessions_client_id_fkey"},
		{"oauth client name empty", nil,
			`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes) VALUES ('client-0003', '', true, '{https://a.example/cb}', '{authorization_code}', '{openid}')`, checkViolation, "oauth_clients_name_chk"},
		{"oauth code hash not sha-256", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at) VALUES ('short', 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds')`, checkViolation, "oauth_codes_code_hash_chk"},
		{"oauth nonce too long", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`, `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, nonce) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds', repeat('n', 512))`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, nonce) VALUES (sha256('d'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds', repeat('n', 513))`, checkViolation, "oauth_codes_nonce_chk"},
		{"oauth code of no client", nil,
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at) VALUES (sha256('c'), 'nobody-here', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds')`, foreignKeyViolation, "oauth_codes_client_id_fkey"},
		{"oauth code of no user", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at) VALUES (sha256('c'), 'client-0001', -1, 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds')`, foreignKeyViolation, "oauth_codes_user_id_fkey"},
		{"oauth code of no session", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, auth_time, amr, acr, expires_at, used_at, session_id) VALUES (sha256('c'), 'client-0001', (SELECT id FROM users WHERE username = 'alice'), 'https://app.example.com/cb', '{openid}', now(), '{pwd}', 'aal1', now() + interval '60 seconds', now(), -1)`, foreignKeyViolation, "oauth_codes_session_id_fkey"},
		{"oauth consent to no client", nil,
			`INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES ((SELECT id FROM users WHERE username = 'alice'), 'nobody-here', '{openid}')`, foreignKeyViolation, "oauth_consents_client_id_fkey"},
		{"oauth consent of no user", []string{`INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, grant_types, scopes) VALUES ('client-0001', 'App', true, NULL, '{https://app.example.com/cb}', '{authorization_code,refresh_token}', '{openid}')`},
			`INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES (-1, 'client-0001', '{openid}')`, foreignKeyViolation, "oauth_consents_user_id_fkey"},
		{"webhook url not http", nil, `INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('ftp://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=')`, checkViolation, "webhook_endpoints_url_chk"},
		{"webhook without events", nil, `INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('https://example.com/h', '{}', 'whsec_' || repeat('A', 43) || '=')`, checkViolation, "webhook_endpoints_event_types_chk"},
		{"webhook secret malformed", nil, `INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('https://example.com/h', '{*}', 'secret')`, checkViolation, "webhook_endpoints_secret_chk"},
		{"webhook previous secret without its end", nil, `INSERT INTO webhook_endpoints (url, event_types, secret, previous_secret) VALUES ('https://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=', 'whsec_' || repeat('B', 43) || '=')`, checkViolation, "webhook_endpoints_previous_chk"},
		{"webhook disabled without a reason", nil, `INSERT INTO webhook_endpoints (url, event_types, secret, disabled_at) VALUES ('https://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=', now())`, checkViolation, "webhook_endpoints_disabled_chk"},
		{"webhook event of an unknown type", nil, `INSERT INTO webhook_events (type, payload) VALUES ('user.exploded', '{}')`, checkViolation, "webhook_events_type_chk"},
		{"webhook event payload not an object", nil, `INSERT INTO webhook_events (type, payload) VALUES ('user.created', '[]')`, checkViolation, "webhook_events_payload_chk"},
		{"webhook event message id taken", []string{`INSERT INTO webhook_events (message_id, type, payload) VALUES ('msg_1', 'user.created', '{}')`},
			`INSERT INTO webhook_events (message_id, type, payload) VALUES ('msg_1', 'user.deleted', '{}')`, uniqueViolation, "webhook_events_message_id_key"},
		{"webhook delivery of no event", []string{`INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('https://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=')`},
			`INSERT INTO webhook_deliveries (event_id, endpoint_id) VALUES (-1, (SELECT max(id) FROM webhook_endpoints))`, foreignKeyViolation, "webhook_deliveries_event_id_fkey"},
		{"webhook delivery to no endpoint", []string{`INSERT INTO webhook_events (type, payload) VALUES ('user.created', '{}')`},
			`INSERT INTO webhook_deliveries (event_id, endpoint_id) VALUES ((SELECT max(id) FROM webhook_events), -1)`, foreignKeyViolation, "webhook_deliveries_endpoint_id_fkey"},
		{"webhook delivery negative attempts", []string{
			`INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('https://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=')`,
			`INSERT INTO webhook_events (type, payload) VALUES ('user.created', '{}')`,
		}, `INSERT INTO webhook_deliveries (event_id, endpoint_id, attempts) VALUES ((SELECT max(id) FROM webhook_events), (SELECT max(id) FROM webhook_endpoints), -1)`, checkViolation, "webhook_deliveries_attempts_chk"},
		{"webhook delivery both delivered and failed", []string{
			`INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ('https://example.com/h', '{*}', 'whsec_' || repeat('A', 43) || '=')`,
			`INSERT INTO webhook_events (type, payload) VALUES ('user.created', '{}')`,
		}, `INSERT INTO webhook_deliveries (event_id, endpoint_id, delivered_at, failed_at) VALUES ((SELECT max(id) FROM webhook_events), (SELECT max(id) FROM webhook_endpoints), now(), now())`, checkViolation, "webhook_deliveries_state_chk"},
		{"organization import key padded", nil, `INSERT INTO organizations (name, import_key) VALUES ('Acme', ' acme ')`, checkViolation, "organizations_import_key_chk"},
		{"invitation email not canonical", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'X@example.com', sha256('9'), now() + interval '1 day')`, checkViolation, "invitations_email_canonical_chk"},
		{"organization name empty", nil, `INSERT INTO organizations (name) VALUES ('  ')`, checkViolation, "organizations_name_chk"},
		{"organization name too long", []string{`INSERT INTO organizations (name) VALUES (repeat('o', 70))`}, `INSERT INTO organizations (name) VALUES (repeat('o', 71))`, checkViolation, "organizations_name_chk"},
		{"organization unknown plan", []string{`INSERT INTO organizations (name, plan) VALUES ('E', 'enterprise')`}, `INSERT INTO organizations (name, plan) VALUES ('X', 'platinum')`, foreignKeyViolation, "organizations_plan_fkey"},
		{"plan in use deleted", nil, `DELETE FROM plans WHERE code = 'free'`, foreignKeyViolation, "organizations_plan_fkey"},
		{"plan zero seats", []string{`INSERT INTO plans (code, name, seat_limit) VALUES ('solo', 'Solo', 1)`}, `INSERT INTO plans (code, name, seat_limit) VALUES ('none', 'None', 0)`, checkViolation, "plans_seat_limit_chk"},
		{"plan bad code", nil, `INSERT INTO plans (code, name) VALUES ('Gold Plan', 'Gold')`, checkViolation, "plans_code_chk"},

		{"group unknown kind", nil, `INSERT INTO permission_groups (name, kind) VALUES ('editors', 'custom')`, checkViolation, "permission_groups_kind_chk"},
		{"group duplicate name", []string{`INSERT INTO permission_groups (name, kind) VALUES ('editors', 'org_manageable')`}, `INSERT INTO permission_groups (name, kind) VALUES ('editors', 'system')`, uniqueViolation, "permission_groups_name_key"},
		{"group bad name", nil, `INSERT INTO permission_groups (name, kind) VALUES ('Edit ors', 'system')`, checkViolation, "permission_groups_name_chk"},
		{"membership twice", []string{`INSERT INTO user_permission_groups (user_id, group_id) VALUES (1, 1)`}, `INSERT INTO user_permission_groups (user_id, group_id) VALUES (1, 1)`, uniqueViolation, "user_permission_groups_pkey"},
		{"membership unknown group", nil, `INSERT INTO user_permission_groups (user_id, group_id) VALUES (1, 999)`, foreignKeyViolation, "user_permission_groups_group_id_fkey"},

		{"second pending invitation", []string{
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day')`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at, revoked_at) VALUES (1, 'y@example.com', sha256('2'), now() + interval '1 day', now())`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'y@example.com', sha256('3'), now() + interval '1 day')`,
		}, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('4'), now() + interval '1 day')`, uniqueViolation, "invitations_pending_key"},
		{"invitation accepted and revoked", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at, accepted_at, revoked_at) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day', now(), now())`, checkViolation, "invitations_state_chk"},
		{"invitation bad email", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'nobody', sha256('1'), now() + interval '1 day')`, checkViolation, "invitations_email_chk"},
		{"invitation too many groups", []string{`INSERT INTO invitations (organization_id, email, token_hash, expires_at, groups) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day', array_fill('g'::text, ARRAY[32]))`}, `INSERT INTO invitations (organization_id, email, token_hash, expires_at, groups) VALUES (1, 'y@example.com', sha256('2'), now() + interval '1 day', array_fill('g'::text, ARRAY[33]))`, checkViolation, "invitations_groups_chk"},

		// Seats: members plus pending invitations never exceed the plan
		// (free: 3), whichever row adds the seat.
		{"seat limit by invitation", []string{
			`UPDATE users SET organization_id = 1`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at, revoked_at) VALUES (1, 'r@example.com', sha256('r'), now() + interval '1 day', now())`,
			`INSERT INTO invitations (organization_id, email, token_hash, created_at, expires_at) VALUES (1, 'e@example.com', sha256('e'), now() - interval '2 days', now() - interval '1 day')`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day')`,
		}, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'y@example.com', sha256('2'), now() + interval '1 day')`, checkViolation, "organizations_seat_limit"},
		{"seat limit by new member", []string{
			`UPDATE users SET organization_id = 1`,
			`INSERT INTO users (username, organization_id) VALUES ('carol', 1)`,
		}, `INSERT INTO users (username, organization_id) VALUES ('dave', 1)`, checkViolation, "organizations_seat_limit"},
		{"seat limit by moved member", []string{
			`INSERT INTO organizations (name) VALUES ('Other')`,
			`UPDATE users SET organization_id = 1`,
			`INSERT INTO users (username, organization_id) VALUES ('carol', 1)`,
			`INSERT INTO users (username, organization_id) VALUES ('dave', (SELECT max(id) FROM organizations))`,
		}, `UPDATE users SET organization_id = 1 WHERE username = 'dave'`, checkViolation, "organizations_seat_limit"},
		{"seat limit by revived invitation", []string{
			`UPDATE users SET organization_id = 1`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (1, 'x@example.com', sha256('1'), now() + interval '1 day')`,
			`INSERT INTO invitations (organization_id, email, token_hash, expires_at, revoked_at) VALUES (1, 'y@example.com', sha256('2'), now() + interval '1 day', now())`,
		}, `UPDATE invitations SET revoked_at = NULL WHERE email = 'y@example.com'`, checkViolation, "organizations_seat_limit"},
		{"seat limit by downgrade", []string{
			`UPDATE organizations SET plan = 'team'`,
			`UPDATE users SET organization_id = 1`,
			`INSERT INTO users (username, organization_id) VALUES ('carol', 1)`,
			`INSERT INTO users (username, organization_id) VALUES ('dave', 1)`,
			`UPDATE organizations SET plan = 'enterprise'`,
		}, `UPDATE organizations SET plan = 'free'`, checkViolation, "organizations_seat_limit"},
		{"seat limit by smaller plan", []string{
			`UPDATE users SET organization_id = 1`,
			`UPDATE plans SET seat_limit = 2 WHERE code = 'free'`,
		}, `UPDATE plans SET seat_limit = 1 WHERE code = 'free'`, checkViolation, "organizations_seat_limit"},
		{"invitation unknown org", nil, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES (9, 'x@example.com', sha256('1'), now() + interval '1 day')`, foreignKeyViolation, "invitations_organization_id_fkey"},

		{"avatar gif", []string{`INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (1, 'image/png', '\x89'::bytea, 'image/png', '\x89'::bytea, repeat('ab', 32))`}, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/gif', '\x47'::bytea, 'image/png', '\x89'::bytea, repeat('ab', 32))`, checkViolation, "avatars_content_type_chk"},
		{"avatar too big", nil, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/png', decode(repeat('00', 2097153), 'hex'), 'image/png', '\x89'::bytea, repeat('ab', 32))`, checkViolation, "avatars_image_size_chk"},
		{"avatar empty", nil, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/png', ''::bytea, 'image/png', '\x89'::bytea, repeat('ab', 32))`, checkViolation, "avatars_image_size_chk"},
		{"avatar etag not a hash", []string{`INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (1, 'image/png', '\x89'::bytea, 'image/png', '\x89'::bytea, repeat('0f', 32))`}, `INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES (2, 'image/png', '\x89'::bytea, 'image/png', '\x89'::bytea, repeat('AB', 32))`, checkViolation, "avatars_etag_chk"},

		{"audit bad action", []string{`INSERT INTO audit_events (actor_id, target_user_id, action) VALUES (1, 2, 'user.role_changed')`}, `INSERT INTO audit_events (action) VALUES ('Role Changed')`, checkViolation, "audit_events_action_chk"},
		{"audit details array", nil, `INSERT INTO audit_events (action, details) VALUES ('user.deactivated', '[]')`, checkViolation, "audit_events_details_chk"},

		{"outbox unknown kind", []string{`INSERT INTO outbox (kind, payload) VALUES ('mail', '{}')`}, `INSERT INTO outbox (kind, payload) VALUES ('sms', '{}')`, checkViolation, "outbox_kind_chk"},
		{"outbox payload string", nil, `INSERT INTO outbox (kind, payload) VALUES ('mail', '"x"')`, checkViolation, "outbox_payload_chk"},
		{"outbox negative attempts", nil, `INSERT INTO outbox (kind, payload, attempts) VALUES ('mail', '{}', -1)`, checkViolation, "outbox_attempts_chk"},
		{"outbox done and failed", nil, `INSERT INTO outbox (kind, payload, done_at, failed_at) VALUES ('mail', '{}', now(), now())`, checkViolation, "outbox_state_chk"},
		{"login failure short hash", nil, `INSERT INTO login_failures (identifier_hash) VALUES ('x'::bytea)`, checkViolation, "login_failures_hash_chk"},
		{"login failure short address hash", nil, `INSERT INTO login_failures (identifier_hash, ip_hash) VALUES (sha256('a'), 'x'::bytea)`, checkViolation, "login_failures_ip_hash_chk"},
		{"login failure unknown user", nil, `INSERT INTO login_failures (identifier_hash, user_id) VALUES (sha256('a'), 999)`, foreignKeyViolation, "login_failures_user_id_fkey"},
		{"rate event bad bucket", []string{`INSERT INTO rate_events (bucket, key_hash) VALUES ('mail.password_reset', sha256('a'))`}, `INSERT INTO rate_events (bucket, key_hash) VALUES ('Mail Reset', sha256('a'))`, checkViolation, "rate_events_bucket_chk"},
		{"rate event short key", nil, `INSERT INTO rate_events (bucket, key_hash) VALUES ('lookup', 'x'::bytea)`, checkViolation, "rate_events_key_hash_chk"},
		{"pending email not an address", []string{`UPDATE users SET pending_email = 'new@example.com' WHERE id = 1`}, `UPDATE users SET pending_email = 'nobody' WHERE id = 1`, checkViolation, "users_pending_email_chk"},
		{"preferences 33 levels deep", []string{`UPDATE users SET preferences = ('{"a":' || repeat('[', 31) || repeat(']', 31) || '}')::jsonb WHERE id = 1`},
			`UPDATE users SET preferences = ('{"a":' || repeat('[', 32) || repeat(']', 32) || '}')::jsonb WHERE id = 1`, checkViolation, "users_preferences_depth_chk"},
		{"preferences deep on insert", nil, `INSERT INTO users (username, preferences) VALUES ('deep', ('{"a":' || repeat('{"b":', 40) || '1' || repeat('}', 40) || '}')::jsonb)`, checkViolation, "users_preferences_depth_chk"},
		{"token email_change allowed, magic not", []string{`INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'email_change', sha256('c'), 'n@example.com', now() + interval '1 hour')`},
			`INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES (1, 'magic', sha256('m'), 'n@example.com', now() + interval '1 hour')`, checkViolation, "user_tokens_purpose_chk"},
	}
	ctx := context.Background()
	conn, err := dburl.Connect(ctx, pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })

	// Every named CHECK, foreign key and unique constraint or index of the
	// schema has a case here: a new invariant needs a test that breaks it.
	tried := map[string]bool{}
	for _, c := range cases {
		tried[c.constraint] = true
	}
	rows, err := conn.Query(ctx, `
		SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = 'public' AND c.contype IN ('c', 'f', 'u')
		UNION
		SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE INDEX%' AND indexname LIKE '%\_key'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 90 {
		t.Fatalf("got %d constraints from the catalog, want the schema's (at least 90)", len(names))
	}
	for _, name := range names {
		if !tried[name] {
			t.Errorf("constraint %s: no case tries to break it", name)
		}
	}

	exec(t, conn, fixture...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case runs in a transaction that is rolled back, so the
			// cases share one database without seeing each other.
			exec(t, conn, "BEGIN")
			defer exec(t, conn, "ROLLBACK")
			exec(t, conn, c.setup...)
			_, err := conn.Exec(ctx, c.bad)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("%s: got %v, want SQLSTATE %s on %s", c.bad, err, c.code, c.constraint)
			}
			if pgErr.Code != c.code || pgErr.ConstraintName != c.constraint {
				t.Fatalf("%s: got %s on %q (%s), want %s on %q", c.bad, pgErr.Code, pgErr.ConstraintName, pgErr.Message, c.code, c.constraint)
			}
		})
	}
}

// TestFollowStatsTrigger checks the counters (base plus pending deltas)
// follow inserts, deletes and cascades from a deleted user.
func TestFollowStatsTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := dburl.Connect(ctx, pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	exec(t, conn, fixture...)
	exec(t, conn,
		`INSERT INTO users (username) VALUES ('carol')`,
		`INSERT INTO follows (follower_id, followee_id) VALUES (1, 2), (3, 2), (2, 1), (1, 3)`,
		`DELETE FROM follows WHERE follower_id = 1 AND followee_id = 3`,
		`DELETE FROM users WHERE id = 3`,
	)
	var mismatches int
	err = conn.QueryRow(ctx, `
		SELECT count(*) FROM follow_stats s
		WHERE s.followers_count + coalesce((SELECT sum(delta) FROM follow_stat_deltas WHERE followee_id = s.user_id), 0)
		      <> (SELECT count(*) FROM follows WHERE followee_id = s.user_id)
		   OR s.following_count + coalesce((SELECT sum(delta) FROM follow_stat_deltas WHERE follower_id = s.user_id), 0)
		      <> (SELECT count(*) FROM follows WHERE follower_id = s.user_id)`).Scan(&mismatches)
	if err != nil {
		t.Fatal(err)
	}
	if mismatches != 0 {
		t.Fatalf("got %d follow_stats rows off their true counts, want 0", mismatches)
	}
	var followers int64
	if err := conn.QueryRow(ctx, `SELECT followers_count + (SELECT sum(delta) FROM follow_stat_deltas WHERE followee_id = 2) FROM follow_stats WHERE user_id = 2`).Scan(&followers); err != nil {
		t.Fatal(err)
	}
	if followers != 1 {
		t.Fatalf("bob's followers: got %d, want 1", followers)
	}
}
