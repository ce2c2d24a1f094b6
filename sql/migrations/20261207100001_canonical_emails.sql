-- migrate:up
-- Email addresses are stored in their canonical form (service.NormalizeEmail:
-- Unicode NFKC, lower case, the domain in IDNA ASCII form, an ASCII local
-- part), so the unique index on lower(email) treats two addresses as one
-- exactly when the Go code does. Rows that SQL can bring to that form
-- (their NFKC form is ASCII) are rewritten; any other address stops the
-- migration, to be corrected by hand (IDNA is not available in SQL).
UPDATE users SET email = lower(normalize(email, NFKC))
WHERE email IS NOT NULL AND email <> lower(normalize(email, NFKC))
  AND octet_length(normalize(email, NFKC)) = char_length(normalize(email, NFKC));
UPDATE users SET pending_email = lower(normalize(pending_email, NFKC))
WHERE pending_email IS NOT NULL AND pending_email <> lower(normalize(pending_email, NFKC))
  AND octet_length(normalize(pending_email, NFKC)) = char_length(normalize(pending_email, NFKC));
UPDATE invitations SET email = lower(normalize(email, NFKC))
WHERE email <> lower(normalize(email, NFKC))
  AND octet_length(normalize(email, NFKC)) = char_length(normalize(email, NFKC));

DO $$
DECLARE
    n bigint;
BEGIN
    SELECT (SELECT count(*) FROM users WHERE octet_length(email) <> char_length(email) OR octet_length(pending_email) <> char_length(pending_email))
         + (SELECT count(*) FROM invitations WHERE octet_length(email) <> char_length(email))
      INTO n;
    IF n > 0 THEN
        RAISE EXCEPTION '% email addresses are not ASCII after NFKC; rewrite them in their canonical form (punycode domain) or remove them, then migrate again', n;
    END IF;
END
$$;

ALTER TABLE users
    ADD CONSTRAINT users_email_canonical_chk CHECK (email = lower(email) AND octet_length(email) = char_length(email)),
    ADD CONSTRAINT users_pending_email_canonical_chk CHECK (pending_email = lower(pending_email) AND octet_length(pending_email) = char_length(pending_email));
ALTER TABLE invitations
    ADD CONSTRAINT invitations_email_canonical_chk CHECK (email = lower(email) AND octet_length(email) = char_length(email));

-- migrate:down
ALTER TABLE invitations DROP CONSTRAINT invitations_email_canonical_chk;
ALTER TABLE users
    DROP CONSTRAINT users_pending_email_canonical_chk,
    DROP CONSTRAINT users_email_canonical_chk;
