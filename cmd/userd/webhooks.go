package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// newWebhooks is the webhook service configured by cfg.
func newWebhooks(db *service.DB, cfg config.Config, cursorKey []byte, log *slog.Logger) *service.Webhooks {
	return service.NewWebhooks(db, service.WebhookConfig{
		Schedule: cfg.Webhooks.Schedule, Timeout: cfg.Webhooks.Timeout, AllowPrivate: cfg.Webhooks.AllowPrivate,
	}, cursorKey, log)
}

var webhooksCommand = &command{
	name:    "webhooks",
	args:    "add --url URL --events TYPES | list | remove ID | rotate-secret ID",
	summary: "manage webhook endpoints (add, list, remove, rotate-secret)",
	about: `Manages the endpoints webhook events are delivered to (see
docs/webhooks.md).

  add --url URL --events a,b   registers an endpoint for the event types
                               named (or '*' for all) and prints JSON
                               {"id", "secret"}: the signing secret
                               (whsec_…) is shown this once
  list                         prints the endpoints as JSON, one a line
  remove ID                    deletes endpoint ID and its delivery log
  rotate-secret ID             gives endpoint ID a new secret and prints
                               {"id", "secret"}; the old one keeps signing
                               beside it for 24 hours

Event types: ` + strings.Join(service.EventTypes, ", ") + `.`,
	flags: []flagSection{{title: "add", declare: func(fs *flag.FlagSet) {
		fs.String("url", "", "the endpoint's URL (http or https)")
		fs.String("events", "", "event types separated by commas, or '*' for all")
	}}},
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: `userd webhooks add --url https://app.example.com/hooks/userd --events user.created,user.deleted
userd webhooks add --url https://app.example.com/hooks/userd --events '*'
userd webhooks list
userd webhooks rotate-secret 3
userd webhooks remove 3`,
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		if len(args) == 0 {
			return usageErrorf("webhooks: say add, list, remove or rotate-secret (see `userd webhooks --help`)")
		}
		sub, args := args[0], args[1:]
		var run func(ctx context.Context, w *service.Webhooks, out io.Writer) error
		switch sub {
		case "add":
			var url, events string
			if err := parseFlagsNoArgs("webhooks add", args, func(fs *flag.FlagSet) {
				fs.StringVar(&url, "url", "", "")
				fs.StringVar(&events, "events", "", "")
			}); err != nil {
				return err
			}
			run = func(ctx context.Context, w *service.Webhooks, out io.Writer) error {
				ep, secret, err := w.AddEndpoint(ctx, service.Console(), url, strings.Split(events, ","))
				if err != nil {
					return err
				}
				return printJSON(out, map[string]any{"id": ep.ID, "secret": secret})
			}
		case "list":
			if err := noArgs("webhooks list", args); err != nil {
				return err
			}
			run = func(ctx context.Context, w *service.Webhooks, out io.Writer) error {
				eps, err := w.Endpoints(ctx, service.Console())
				if err != nil {
					return err
				}
				for _, ep := range eps {
					if err := printJSON(out, endpointJSON(ep)); err != nil {
						return err
					}
				}
				return nil
			}
		case "remove", "rotate-secret":
			if len(args) != 1 {
				return usageErrorf("webhooks %s takes one endpoint id (see `userd webhooks --help`)", sub)
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageErrorf("webhooks %s: got %q, want an endpoint id", sub, args[0])
			}
			run = func(ctx context.Context, w *service.Webhooks, out io.Writer) error {
				if sub == "remove" {
					if err := w.RemoveEndpoint(ctx, service.Console(), id); err != nil {
						return err
					}
					_, err := fmt.Fprintf(out, "removed endpoint %d\n", id)
					return err
				}
				ep, secret, err := w.RotateSecret(ctx, service.Console(), id)
				if err != nil {
					return err
				}
				return printJSON(out, map[string]any{"id": ep.ID, "secret": secret})
			}
		default:
			return usageErrorf("webhooks: unknown subcommand %q; say add, list, remove or rotate-secret", sub)
		}
		db, err := openForCommand(ctx, e.cfg, "webhooks", nil)
		if err != nil {
			return err
		}
		defer db.Close()
		return withFields(run(ctx, newWebhooks(db, e.cfg, nil, e.log), e.stdout))
	},
}

// withFields adds what is wrong with each field to a validation error.
func withFields(err error) error {
	e, ok := service.ErrorOf(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	var b strings.Builder
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; --%s: %s", f.Field, f.Message)
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// endpointJSON is an endpoint as `webhooks list` prints it.
func endpointJSON(ep service.WebhookEndpoint) map[string]any {
	m := map[string]any{"id": ep.ID, "url": ep.URL, "events": ep.Events, "created_at": ep.CreatedAt.UTC().Format(time.RFC3339)}
	if ep.DisabledAt != nil {
		m["disabled_at"] = ep.DisabledAt.UTC().Format(time.RFC3339)
		m["disabled_reason"] = ep.DisabledReason
	}
	if ep.RotatingUntil != nil {
		m["previous_secret_until"] = ep.RotatingUntil.UTC().Format(time.RFC3339)
	}
	return m
}

func printJSON(out io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}
