package service

import (
	"context"
	"testing"

	"github.com/userd/userd/pgtest"
)

// TestConstraintNamesInCatalog checks every constraint name mapDBError
// knows against the migrated schema: a renamed unique constraint would
// otherwise turn a precise 409 into a generic conflict, and a renamed CHECK
// would blame the wrong field.
func TestConstraintNamesInCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)

	// kind is 'c' for a CHECK, 'u' for a unique constraint or index. A
	// trigger that raises a check_violation naming a constraint counts as
	// a CHECK of that name.
	rows, err := pool.Query(ctx, `
		SELECT conname, contype::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = 'public' AND c.contype IN ('c', 'u')
		UNION
		SELECT indexname, 'u' FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE INDEX%'
		UNION
		SELECT m[1], 'c' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
			regexp_matches(p.prosrc, 'ERRCODE = ''check_violation'', CONSTRAINT = ''([a-z0-9_]+)''', 'g') AS m
		WHERE n.nspname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	catalog := map[string]string{}
	for rows.Next() {
		var name, kind string
		if err := rows.Scan(&name, &kind); err != nil {
			t.Fatal(err)
		}
		catalog[name] = kind
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{}
	for _, name := range []string{constraintUsernameKey, constraintEmailKey, constraintPhoneKey, constraintPendingKey} {
		want[name] = "u"
	}
	for name, field := range pgErrorFields {
		if field == "" {
			t.Errorf("pgErrorFields[%q]: got no field, want the input field it guards", name)
		}
		want[name] = "c"
	}
	want[constraintSeatLimit] = "c" // raised by the seat triggers
	for name, kind := range want {
		got, ok := catalog[name]
		switch {
		case !ok:
			t.Errorf("constraint %q: not in the migrated catalog", name)
		case got != kind:
			t.Errorf("constraint %q: got kind %q, want %q", name, got, kind)
		}
	}
}
