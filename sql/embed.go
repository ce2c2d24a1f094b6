// Package sql holds the dbmate migrations of userd and embeds them so the
// binary can migrate its own database.
package sql

import "embed"

// Migrations holds migrations/*.sql, in dbmate's format.
//
//go:embed migrations/*.sql
var Migrations embed.FS
