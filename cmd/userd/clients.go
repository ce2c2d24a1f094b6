package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

var clientsCommand = &command{
	name:    "clients",
	args:    "add --name N --redirect-uri URI [--redirect-uri URI …] [--public] [--first-party] | list | remove ID | rotate-secret ID",
	summary: "manage the OAuth / OpenID Connect clients (add, list, remove, rotate-secret)",
	about: `Manages the applications that sign people in with userd through
/oauth/authorize (see docs/oidc.md).

  add --name N --redirect-uri URI   registers a client and prints JSON
                                    {"client_id", "client_secret"}: the
                                    secret is shown this once (null for
                                    a --public client, which uses PKCE)
  list                              prints the clients as JSON, one a line
  remove ID                         deletes client ID; its tokens stop
                                    working
  rotate-secret ID                  gives confidential client ID a new
                                    secret and prints it; the old one
                                    stops working at once`,
	flags: []flagSection{{title: "add", declare: func(fs *flag.FlagSet) {
		fs.String("name", "", "the name people see on the consent page")
		fs.Var(new(stringList), "redirect-uri", "a redirect URI, matched exactly (repeat for more)")
		fs.Var(new(stringList), "post-logout-redirect-uri", "where /oauth/logout may send the browser back (repeat for more)")
		fs.Bool("public", false, "a single-page or native app: no secret, PKCE required")
		fs.Bool("first-party", false, "an app of the operator's own: no consent page")
		fs.String("grant-types", "", "comma-separated grants (default authorization_code,refresh_token, plus client_credentials when confidential)")
	}}},
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: `userd clients add --name 'Example SPA' --redirect-uri https://app.example.com/callback --public
userd clients add --name 'Example web' --redirect-uri https://www.example.com/auth/callback --first-party
userd clients list
userd clients rotate-secret 3Zb1tq0kY0cNfQ2uMZmW9g
userd clients remove 3Zb1tq0kY0cNfQ2uMZmW9g`,
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		if len(args) == 0 {
			return usageErrorf("clients: say add, list, remove or rotate-secret (see `userd clients --help`)")
		}
		sub, args := args[0], args[1:]
		var run func(ctx context.Context, o *service.OAuth, out io.Writer) error
		switch sub {
		case "add":
			var in service.NewOAuthClient
			var redirects, logouts stringList
			var grants string
			if err := parseFlagsNoArgs("clients add", args, func(fs *flag.FlagSet) {
				fs.StringVar(&in.Name, "name", "", "")
				fs.Var(&redirects, "redirect-uri", "")
				fs.Var(&logouts, "post-logout-redirect-uri", "")
				fs.BoolVar(&in.Public, "public", false, "")
				fs.BoolVar(&in.FirstParty, "first-party", false, "")
				fs.StringVar(&grants, "grant-types", "", "")
			}); err != nil {
				return err
			}
			in.RedirectURIs, in.PostLogoutRedirectURIs = redirects, logouts
			if grants != "" {
				in.GrantTypes = strings.Split(grants, ",")
			}
			run = func(ctx context.Context, o *service.OAuth, out io.Writer) error {
				c, secret, err := o.AddClient(ctx, service.Console(), in)
				if err != nil {
					return err
				}
				var s any
				if secret != "" {
					s = secret
				}
				return printJSON(out, map[string]any{"client_id": c.ID, "client_secret": s})
			}
		case "list":
			if err := noArgs("clients list", args); err != nil {
				return err
			}
			run = func(ctx context.Context, o *service.OAuth, out io.Writer) error {
				cs, err := o.Clients(ctx, service.Console())
				if err != nil {
					return err
				}
				for _, c := range cs {
					if err := printJSON(out, map[string]any{
						"client_id": c.ID, "name": c.Name, "public": c.Public, "first_party": c.FirstParty,
						"redirect_uris": c.RedirectURIs, "post_logout_redirect_uris": c.PostLogoutRedirectURIs,
						"grant_types": c.GrantTypes, "scopes": c.Scopes, "created_at": c.CreatedAt.UTC().Format(time.RFC3339),
					}); err != nil {
						return err
					}
				}
				return nil
			}
		case "remove", "rotate-secret":
			if len(args) != 1 || args[0] == "" {
				return usageErrorf("clients %s takes one client id (see `userd clients --help`)", sub)
			}
			id := args[0]
			run = func(ctx context.Context, o *service.OAuth, out io.Writer) error {
				if sub == "remove" {
					if err := o.RemoveClient(ctx, service.Console(), id); err != nil {
						return err
					}
					_, err := fmt.Fprintf(out, "removed client %s\n", id)
					return err
				}
				secret, err := o.RotateClientSecret(ctx, service.Console(), id)
				if err != nil {
					return err
				}
				return printJSON(out, map[string]any{"client_id": id, "client_secret": secret})
			}
		default:
			return usageErrorf("clients: unknown subcommand %q; say add, list, remove or rotate-secret", sub)
		}
		db, err := openForCommand(ctx, e.cfg, "clients", nil)
		if err != nil {
			return err
		}
		defer db.Close()
		return withFields(run(ctx, service.NewOAuth(db, nil), e.stdout))
	},
}
