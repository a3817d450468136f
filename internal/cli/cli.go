// Package cli is callbacksim's command line: serve, version, the sample
// merchant, and the commands that talk to a running simulator (trigger,
// callbacks, check).
//
// Exit codes, for scripts: 0 ok (trigger: delivered; check: no check
// failed), 1 error, 2 usage (bad flags or arguments, or a 400 from the
// API), 3 configuration (bad config file, --api, or a missing or wrong
// admin token), 4 the triggered callback ended failed or rejected, or a
// handler check failed, 5 not found, 6 the API is unreachable.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/buildinfo"
	"github.com/callbacksim/callbacksim/internal/logdedup"
)

// Exit codes a script can rely on.
const (
	ExitOK             = 0 // done; trigger: the callback was delivered
	ExitError          = 1 // the command failed (an API error not listed below, a timeout)
	ExitUsage          = 2 // bad flags or arguments, or the API refused them as invalid (400, 413)
	ExitConfig         = 3 // invalid configuration: a bad config file, --api, or a missing or wrong admin token (401)
	ExitCallbackFailed = 4 // trigger: the callback ended failed or rejected
	ExitCheckFailed    = 4 // check: a handler check failed
	ExitNotFound       = 5 // no such callback or payment (404)
	ExitUnreachable    = 6 // no answer from the API: nothing listens at --api, DNS, timeout
)

// usageError marks errors in the command line itself.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Run runs the command line args and returns the process's exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return execute(context.Background(), args, stdout, stderr)
}

// execute is Run under ctx: serve stops when ctx ends, as on a signal.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "callbacksim",
		Short:         "Simulate payment gateways' callbacks against your handlers",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Read().String(),
	}
	root.SetVersionTemplate("{{.Version}}")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(serveCmd(), versionCmd(), triggerCmd(), callbacksCmd(), merchantCmd(), checkCmd())
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "callbacksim:", err)
	var ue usageError
	var ke *config.KeyError
	switch {
	case errors.As(err, &ke), errors.Is(err, config.ErrInvalid):
		return ExitConfig
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"),
		strings.Contains(err.Error(), "arg(s)"):
		return ExitUsage
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.exitCode()
	}
	return ExitError
}

// exitCodeError carries a specific exit code.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the VCS revision and the Go version (as --version does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), buildinfo.Read())
			return nil
		},
	}
}

func serveCmd() *cobra.Command {
	var (
		file  string
		roles string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the simulator: the HTTP API and the delivery workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := parseRoles(roles)
			if err != nil {
				return usageError{err}
			}
			overrides := map[string]any{}
			for flag, key := range map[string]string{
				"http-addr": "http.addr", "redis-url": "redis.url", "time-scale": "time_scale",
				"log-level": "log.level", "log-format": "log.format",
			} {
				if f := cmd.Flags().Lookup(flag); f.Changed {
					overrides[key] = f.Value.String()
				}
			}
			cfg, err := config.Load(config.Options{File: file, Overrides: overrides, Foreign: foreignEnv})
			if err != nil {
				return err
			}
			return serve(cmd, cfg, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "config", "", "YAML configuration file")
	f.StringVar(&roles, "roles", "api,worker", "what this process does: api, worker or api,worker")
	f.String("http-addr", "", "listen address (http.addr)")
	f.String("redis-url", "", "redis://[:password@]host:port/db (redis.url); empty: embedded in-memory Redis")
	f.String("time-scale", "", "factor on every retry delay and simulated wait (time_scale)")
	f.String("log-level", "", "debug, info, warn or error (log.level)")
	f.String("log-format", "", "text or json (log.format)")
	return cmd
}

func parseRoles(s string) (app.Roles, error) {
	var r app.Roles
	for part := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(part) {
		case "api":
			r.API = true
		case "worker":
			r.Worker = true
		default:
			return r, fmt.Errorf("--roles: unknown role %q (want api, worker or api,worker)", part)
		}
	}
	return r, nil
}

// NewLogger returns the slog logger cfg asks for. Identical warnings and
// errors are collapsed into one line per logdedup.DefaultInterval, with
// their count.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logdedup.New(h, logdedup.DefaultInterval))
}

func serve(cmd *cobra.Command, cfg config.Config, roles app.Roles) error {
	log := NewLogger(cfg.Log, cmd.ErrOrStderr())
	generated := cfg.Admin.Token == ""
	if generated {
		cfg.Admin.Token = app.RandomToken()
	}
	a, err := app.New(cfg, roles, log)
	if err != nil {
		return err
	}
	if a.Embedded() {
		log.Warn("redis.url is empty: using an embedded in-memory Redis; nothing persists across restarts")
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "callbacksim %s listening on http://%s (roles: %s)\n", buildinfo.Read().Version, a.Addr(), rolesString(roles))
	if roles.API {
		writeStartHints(out, a.Addr(), cfg.Admin.Token, generated)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return a.Run(ctx)
}

// writeStartHints tells the user where the dashboard is and how the CLI
// gets the admin token. A generated token is printed, once, in the line
// to export; a token the user chose is theirs to know, and stays out of
// the output (which often ends up in logs).
func writeStartHints(w io.Writer, addr, token string, generated bool) {
	fmt.Fprintf(w, "dashboard: %s/ (sign in with the admin token)\n", browsable(addr))
	if generated {
		fmt.Fprintf(w, "admin token generated for this run (set admin.token or %s to choose it); for the CLI, in another shell:\n", EnvAdminToken)
		fmt.Fprintf(w, "  export %s=%s\n", EnvAdminToken, token)
		return
	}
	fmt.Fprintf(w, "the CLI reads the admin token from %s: export %s=<your admin.token>\n", EnvAdminToken, EnvAdminToken)
}

// browsable is the base URL a browser on this machine reaches addr by: an
// unspecified host (0.0.0.0, [::]) becomes the loopback address.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func rolesString(r app.Roles) string {
	var parts []string
	if r.API {
		parts = append(parts, "api")
	}
	if r.Worker {
		parts = append(parts, "worker")
	}
	return strings.Join(parts, ",")
}
