-- migrate:up
-- Imported accounts keep the hash of the system they come from until
-- their first successful login replaces it with argon2id: argon2id or
-- argon2i PHC, bcrypt ($2a$, $2b$, $2y$) and Django PBKDF2 (pbkdf2_sha256,
-- pbkdf2_sha1). password.Check is the full parser; this is its shape.
ALTER TABLE password_credentials DROP CONSTRAINT password_credentials_hash_chk;
ALTER TABLE password_credentials ADD CONSTRAINT password_credentials_hash_chk CHECK (hash ~ (
    '^(\$argon2id?\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+'
    || '|\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}'
    || '|pbkdf2_sha(256|1)\$[0-9]+\$[!-#%-~]+\$[A-Za-z0-9+/]+={0,2})$'));

-- migrate:down
DELETE FROM password_credentials WHERE hash !~ '^\$argon2id\$';
ALTER TABLE password_credentials DROP CONSTRAINT password_credentials_hash_chk;
ALTER TABLE password_credentials ADD CONSTRAINT password_credentials_hash_chk
    CHECK (hash ~ '^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$');
