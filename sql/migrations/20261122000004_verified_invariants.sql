-- migrate:up

-- A verified flag needs the address it vouches for; a mailed token records
-- the address it went to.
ALTER TABLE users ADD CONSTRAINT users_email_verified_chk CHECK (email IS NOT NULL OR NOT email_verified);
ALTER TABLE users ADD CONSTRAINT users_phone_verified_chk CHECK (phone IS NOT NULL OR NOT phone_verified);
ALTER TABLE user_tokens ALTER COLUMN email SET NOT NULL;

-- migrate:down

ALTER TABLE user_tokens ALTER COLUMN email DROP NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_phone_verified_chk;
ALTER TABLE users DROP CONSTRAINT users_email_verified_chk;
