-- migrate:up
-- An organization that `userd import` creates carries the external key it
-- was created under (by default its name in the import file): set when,
-- and only when, an import created it. A later import finds it by that
-- key, never an organization someone made through the API by its name.
ALTER TABLE organizations ADD COLUMN import_key text,
    ADD CONSTRAINT organizations_import_key_chk
        CHECK (import_key IS NULL OR (char_length(import_key) BETWEEN 1 AND 200 AND import_key = btrim(import_key)));
CREATE UNIQUE INDEX organizations_import_key_key ON organizations (import_key) WHERE import_key IS NOT NULL;

-- migrate:down
DROP INDEX organizations_import_key_key;
ALTER TABLE organizations DROP COLUMN import_key;
