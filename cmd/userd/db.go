package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/config"
	"github.com/userd/userd/dburl"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/pglocal"
	"github.com/userd/userd/service"
)

// pgTracer traces the statements of a pool (see tracing.go); the alias
// keeps pgx among the pool setup of this file.
type pgTracer = pgx.QueryTracer

// databaseURL returns DATABASE_URL, or in dev the "userd" database of a
// local server found or started under the data dir (created if missing).
func databaseURL(ctx context.Context, cfg config.Config) (string, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil
	}
	if !cfg.Dev() {
		return "", fmt.Errorf("DATABASE_URL is required in prod")
	}
	admin, err := pglocal.Ensure(ctx, filepath.Join(cfg.DataDir, "pg"))
	if err != nil {
		return "", err
	}
	conn, err := dburl.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to local postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE userd"); err != nil {
		var pgErr *pgconn.PgError
		if !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database
			return "", fmt.Errorf("create database userd: %w", err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/userd"
	return u.String(), nil
}

// openDB opens the configured database, with the principal cache of
// cache (the zero value: none); in dev it migrates first, in prod it
// refuses a schema that is behind. tracer, when not nil, traces every
// query.
func openDB(ctx context.Context, cfg config.Config, migrateDev bool, tracer pgTracer, cache service.CacheConfig, log *slog.Logger) (*service.DB, error) {
	dbURL, err := databaseURL(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Dev() && migrateDev {
		if err := migrate.Up(ctx, migrateURL(cfg, dbURL), nil); err != nil {
			return nil, err
		}
	}
	db, err := openScaled(ctx, cfg, dbURL, cfg.Limits.DBTimeout, tracer, cache, log)
	if err != nil {
		return nil, err
	}
	if !cfg.Dev() {
		if err := migrate.Check(ctx, db.Pool); err != nil {
			db.Close()
			return nil, fmt.Errorf("%w: run `userd migrate up` first", err)
		}
	}
	return db, nil
}

// migrateURL is where migrations run: USERD_MIGRATE_DATABASE_URL, else
// dbURL (migrations hold a session advisory lock, which a
// transaction-mode pooler would not keep).
func migrateURL(cfg config.Config, dbURL string) string {
	if cfg.Scale.MigrateURL != "" && cfg.Given("USERD_MIGRATE_DATABASE_URL") {
		return cfg.Scale.MigrateURL
	}
	return dbURL
}

// openScaled opens dbURL as cfg.Scale says: through a transaction-mode
// pooler (USERD_DB_POOLER=transaction: dburl.PooledConfig, timeouts per
// transaction, LISTEN on USERD_LISTEN_DATABASE_URL) or directly (as
// openPool), with the replica of USERD_DATABASE_REPLICA_URL, if any.
func openScaled(ctx context.Context, cfg config.Config, dbURL string, timeout time.Duration, tracer pgTracer, cache service.CacheConfig, log *slog.Logger) (*service.DB, error) {
	sc := cfg.Scale
	if !sc.Pooler && sc.ReplicaURL == "" && !cfg.Given("USERD_LISTEN_DATABASE_URL") {
		return openPool(ctx, dbURL, timeout, tracer, cache, log)
	}
	var pcfg *pgxpool.Config
	var err error
	if sc.Pooler {
		pcfg, err = dburl.PooledConfig(dbURL)
	} else {
		pcfg, err = dburl.PoolConfig(dbURL, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pcfg.ConnConfig.Tracer = tracer
	opts := service.DBOptions{Cache: cache, Pooler: sc.Pooler, Timeout: timeout, ReplicaMaxLag: sc.ReplicaMaxLag, Log: log}
	if cfg.Given("USERD_LISTEN_DATABASE_URL") {
		if opts.Listen, err = dburl.ConnConfig(sc.ListenURL); err != nil {
			return nil, fmt.Errorf("USERD_LISTEN_DATABASE_URL: %w", err)
		}
	}
	if sc.ReplicaURL != "" {
		// The replica is reached directly, or through a pooler of its own
		// when USERD_DB_POOLER says so for the primary's.
		if sc.Pooler {
			opts.Replica, err = dburl.PooledConfig(sc.ReplicaURL)
		} else {
			opts.Replica, err = dburl.PoolConfig(sc.ReplicaURL, timeout)
		}
		if err != nil {
			return nil, fmt.Errorf("USERD_DATABASE_REPLICA_URL: %w", err)
		}
		opts.Replica.ConnConfig.Tracer = tracer
	}
	return service.OpenDBWith(ctx, pcfg, opts)
}

// openPool opens a pool on dbURL configured by dburl.PoolConfig: at most
// 20 connections unless the URL sets pool_max_conns, statements cancelled
// in PostgreSQL when their context ends, and timeout (USERD_DB_TIMEOUT;
// 0 for none) as the server's statement and lock timeouts; tracer, when
// not nil, traces every query; with the principal cache of cache
// (service.OpenDB).
func openPool(ctx context.Context, dbURL string, timeout time.Duration, tracer pgTracer, cache service.CacheConfig, log *slog.Logger) (*service.DB, error) {
	pcfg, err := dburl.PoolConfig(dbURL, timeout)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pcfg.ConnConfig.Tracer = tracer
	return service.OpenDB(ctx, pcfg, cache, log)
}

// openForCommand opens the configured database for a command that takes
// no arguments and serves no requests: migrated in dev, no caches, no
// tracing.
func openForCommand(ctx context.Context, cfg config.Config, name string, args []string) (*service.DB, error) {
	if err := noArgs(name, args); err != nil {
		return nil, err
	}
	return openDB(ctx, cfg, true, nil, service.CacheConfig{}, nil)
}

// cacheConfig is the configuration of the hot path's caches: the
// defaults, or none with USERD_CACHE=off.
func cacheConfig(cfg config.Config) service.CacheConfig {
	if !cfg.Cache {
		return service.CacheConfig{}
	}
	return service.DefaultCacheConfig()
}

// benchDatabase recreates the database name (userd_bench…) next to the configured
// one and migrates it.
func benchDatabase(ctx context.Context, cfg config.Config, name string) (string, error) {
	u, err := recreateDatabase(ctx, cfg, name)
	if err != nil {
		return "", err
	}
	if err := migrate.Up(ctx, u, nil); err != nil {
		return "", err
	}
	return u, nil
}

// recreateDatabase drops and creates the database name next to the
// configured one, and returns its URL.
func recreateDatabase(ctx context.Context, cfg config.Config, name string) (string, error) {
	base, err := databaseURL(ctx, cfg)
	if err != nil {
		return "", err
	}
	conn, err := dburl.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)", "CREATE DATABASE " + ident} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
