package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/config"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/pglocal"
)

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
	conn, err := pgx.Connect(ctx, admin)
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

// openDB returns a pool on the configured database; in dev it migrates
// first, in prod it refuses a schema that is behind.
func openDB(ctx context.Context, cfg config.Config, migrateDev bool) (*pgxpool.Pool, error) {
	dbURL, err := databaseURL(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Dev() && migrateDev {
		if err := migrate.Up(ctx, dbURL, nil); err != nil {
			return nil, err
		}
	}
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if u, _ := url.Parse(dbURL); u == nil || u.Query().Get("pool_max_conns") == "" {
		pcfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if !cfg.Dev() {
		if err := migrate.Check(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("%w: run `userd migrate up` first", err)
		}
	}
	return pool, nil
}
