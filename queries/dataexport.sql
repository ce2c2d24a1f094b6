-- UserDataExport is everything userd holds about one user but their
-- profile row and secrets, one JSON object with a key per table that
-- refers to users (service/dataexport.go lists them): hashes of passwords,
-- tokens, TOTP secrets, recovery codes and IP addresses of login
-- failures never go out, only that they
-- exist and when. Invitations received are those to the user's address
-- once proven (email_verified): an address held unproven may be someone
-- else's mail. One statement, so one consistent snapshot.
-- name: UserDataExport :one
SELECT jsonb_build_object(
    'identities', coalesce((
        SELECT jsonb_agg(jsonb_build_object('provider', i.provider, 'subject', i.subject, 'email', i.email,
            'phone', i.phone, 'created_at', rfc3339(i.created_at), 'last_seen_at', rfc3339(i.last_seen_at)) ORDER BY i.id)
        FROM user_identities i WHERE i.user_id = @id::bigint), '[]'),
    'sessions', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', s.id, 'user_agent', s.user_agent, 'ip', host(s.ip),
            'created_at', rfc3339(s.created_at), 'last_used_at', rfc3339(s.last_used_at), 'expires_at', rfc3339(s.expires_at),
            'revoked_at', rfc3339(s.revoked_at), 'revoked_reason', s.revoked_reason) ORDER BY s.id)
        FROM sessions s WHERE s.user_id = @id::bigint), '[]'),
    'following', coalesce((
        SELECT jsonb_agg(jsonb_build_object('user_id', f.followee_id, 'username', u.username, 'created_at', rfc3339(f.created_at))
            ORDER BY f.created_at, f.followee_id)
        FROM follows f JOIN users u ON u.id = f.followee_id WHERE f.follower_id = @id::bigint), '[]'),
    'followers', coalesce((
        SELECT jsonb_agg(jsonb_build_object('user_id', f.follower_id, 'username', u.username, 'created_at', rfc3339(f.created_at))
            ORDER BY f.created_at, f.follower_id)
        FROM follows f JOIN users u ON u.id = f.follower_id WHERE f.followee_id = @id::bigint), '[]'),
    'follow_stats', (
        SELECT jsonb_build_object('followers_count', fs.followers_count, 'following_count', fs.following_count)
        FROM follow_stats fs WHERE fs.user_id = @id::bigint),
    'blocks', coalesce((
        SELECT jsonb_agg(jsonb_build_object('user_id', b.blocked_id, 'username', u.username, 'created_at', rfc3339(b.created_at))
            ORDER BY b.created_at, b.blocked_id)
        FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = @id::bigint), '[]'),
    'organization', (
        SELECT jsonb_build_object('id', o.id, 'name', o.name, 'plan', o.plan, 'created_at', rfc3339(o.created_at))
        FROM users me JOIN organizations o ON o.id = me.organization_id WHERE me.id = @id::bigint),
    'groups', coalesce((
        SELECT jsonb_agg(jsonb_build_object('name', g.name, 'kind', g.kind, 'created_at', rfc3339(ug.created_at)) ORDER BY g.name)
        FROM user_permission_groups ug JOIN permission_groups g ON g.id = ug.group_id WHERE ug.user_id = @id::bigint), '[]'),
    'invitations_received', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', i.id, 'organization_id', i.organization_id, 'organization', o.name,
            'email', i.email, 'groups', i.groups, 'created_at', rfc3339(i.created_at), 'expires_at', rfc3339(i.expires_at)) ORDER BY i.id)
        FROM users me JOIN invitations i ON lower(i.email) = lower(me.email) AND me.email_verified
        JOIN organizations o ON o.id = i.organization_id
        WHERE me.id = @id::bigint AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()), '[]'),
    'invitations_sent', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', i.id, 'organization_id', i.organization_id, 'email', i.email,
            'groups', i.groups, 'created_at', rfc3339(i.created_at), 'expires_at', rfc3339(i.expires_at),
            'accepted_at', rfc3339(i.accepted_at), 'revoked_at', rfc3339(i.revoked_at)) ORDER BY i.id)
        FROM invitations i WHERE i.inviter_id = @id::bigint), '[]'),
    'invitations_accepted', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', i.id, 'organization_id', i.organization_id,
            'created_at', rfc3339(i.created_at), 'accepted_at', rfc3339(i.accepted_at)) ORDER BY i.id)
        FROM invitations i WHERE i.accepted_by = @id::bigint), '[]'),
    'audit_events', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', a.id, 'action', a.action, 'actor_id', a.actor_id,
            'target_user_id', a.target_user_id, 'organization_id', a.organization_id, 'details', a.details,
            'created_at', rfc3339(a.created_at)) ORDER BY a.created_at, a.id)
        FROM audit_events a WHERE a.actor_id = @id::bigint OR a.target_user_id = @id::bigint), '[]'),
    'avatar', (
        SELECT jsonb_build_object('content_type', a.content_type, 'bytes', octet_length(a.image), 'etag', a.etag,
            'updated_at', rfc3339(a.updated_at))
        FROM avatars a WHERE a.user_id = @id::bigint),
    'password', (
        SELECT jsonb_build_object('set', true, 'created_at', rfc3339(c.created_at), 'updated_at', rfc3339(c.updated_at))
        FROM password_credentials c WHERE c.user_id = @id::bigint),
    'tokens', coalesce((
        SELECT jsonb_agg(jsonb_build_object('purpose', t.purpose, 'email', t.email, 'created_at', rfc3339(t.created_at),
            'expires_at', rfc3339(t.expires_at), 'used_at', rfc3339(t.used_at)) ORDER BY t.id)
        FROM user_tokens t WHERE t.user_id = @id::bigint), '[]'),
    'login_failures', coalesce((
        SELECT jsonb_agg(jsonb_build_object('created_at', rfc3339(l.created_at)) ORDER BY l.id)
        FROM login_failures l WHERE l.user_id = @id::bigint), '[]'),
    'mail', coalesce((
        SELECT jsonb_agg(jsonb_build_object('kind', m.kind, 'created_at', rfc3339(m.created_at), 'done_at', rfc3339(m.done_at),
            'failed_at', rfc3339(m.failed_at)) ORDER BY m.id)
        FROM outbox m WHERE m.user_id = @id::bigint), '[]'),
    'authenticator', (
        SELECT jsonb_build_object('created_at', rfc3339(t.created_at), 'confirmed_at', rfc3339(t.confirmed_at))
        FROM user_totp t WHERE t.user_id = @id::bigint),
    'recovery_codes', coalesce((
        SELECT jsonb_agg(jsonb_build_object('created_at', rfc3339(r.created_at), 'used_at', rfc3339(r.used_at)) ORDER BY r.id)
        FROM recovery_codes r WHERE r.user_id = @id::bigint), '[]'),
    'factor_challenges', coalesce((
        SELECT jsonb_agg(jsonb_build_object('kind', c.kind, 'created_at', rfc3339(c.created_at), 'expires_at', rfc3339(c.expires_at),
            'used_at', rfc3339(c.used_at)) ORDER BY c.id)
        FROM factor_challenges c WHERE c.user_id = @id::bigint), '[]'),
    'connected_apps', coalesce((
        SELECT jsonb_agg(jsonb_build_object('client_id', o.client_id, 'client_name', c.name, 'scopes', to_jsonb(o.scopes),
            'created_at', rfc3339(o.created_at), 'updated_at', rfc3339(o.updated_at)) ORDER BY o.client_id)
        FROM oauth_consents o JOIN oauth_clients c ON c.id = o.client_id WHERE o.user_id = @id::bigint), '[]')
)::jsonb AS document;
