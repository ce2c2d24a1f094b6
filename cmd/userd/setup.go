package main

import (
	"context"
	"fmt"
	"io"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

func setupGroups(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Pool.Close()
	n, err := service.EnsureGroups(ctx, db, service.DefaultGroups)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "permission groups: %d created, %d already present\n", n, len(service.DefaultGroups)-n)
	return nil
}
