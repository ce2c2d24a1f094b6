package service

import (
	"context"
	"fmt"
)

// SeedConsole gives the seeded users what the admin console's pages
// filter on and show: every fiftieth user a verified email, an
// organization (on the unlimited enterprise plan) of every thousandth
// user, and for user targetID a few sessions and audit events. It returns
// the organization's id.
func (b *Bench) SeedConsole(ctx context.Context, targetID int64) (int64, error) {
	var orgID int64
	err := b.db.Pool.QueryRow(ctx, `INSERT INTO organizations (name, plan, is_seed_data) VALUES ('Bench Co', 'enterprise', true) RETURNING id`).Scan(&orgID)
	if err != nil {
		return 0, fmt.Errorf("seed organization: %w", err)
	}
	_, err = b.db.Pool.Exec(ctx, `
		UPDATE users SET email_verified = true WHERE is_seed_data AND id % 50 = 0;
		UPDATE users SET organization_id = `+fmt.Sprint(orgID)+` WHERE is_seed_data AND id % 1000 = 0;
		INSERT INTO sessions (user_id, expires_at) SELECT `+fmt.Sprint(targetID)+`, now() + interval '1 day' FROM generate_series(1, 5);
		INSERT INTO audit_events (actor_id, target_user_id, action, details)
		SELECT `+fmt.Sprint(targetID)+`, `+fmt.Sprint(targetID)+`, 'user.profile_updated', '{}' FROM generate_series(1, 30);
		ANALYZE users; ANALYZE audit_events; ANALYZE sessions;`)
	if err != nil {
		return 0, fmt.Errorf("seed console: %w", err)
	}
	return orgID, nil
}

// SeedAdmin adds an active admin, the caller of the console's pages, and
// returns its id.
func (b *Bench) SeedAdmin(ctx context.Context) (int64, error) {
	var id int64
	err := b.db.Pool.QueryRow(ctx, `INSERT INTO users (username, role, is_seed_data) VALUES ('bench_admin', 'admin', true) RETURNING id`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed admin: %w", err)
	}
	return id, nil
}
