package main

import (
	"context"
	"fmt"
	"io"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

func setupGroups(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	pool, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := service.EnsureGroups(ctx, service.NewDB(pool), service.DefaultGroups)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "permission groups: %d created, %d already present\n", n, len(service.DefaultGroups)-n)
	return nil
}
