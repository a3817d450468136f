package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/check"
)

// checkFlags are the flags of check qris|cinetpay|centili.
type checkFlags struct {
	client clientFlags

	url          string
	orders       []string
	merchant     string
	only         []string
	junit        string
	verifyWindow time.Duration
	poll         time.Duration
	timeout      time.Duration
}

func checkCmd() *cobra.Command {
	var cf checkFlags
	cmd := &cobra.Command{
		Use:   "check qris|cinetpay|centili --url URL",
		Short: "Check that a callback handler is ready for the real gateway",
		Long: `check runs a gateway's handler checks against your handler through a running
simulator: real deliveries, recorded like any other callback (open their ids
in the dashboard), of the cases that break handlers in production: a
duplicate, a forged signature, a redirect, a slow answer, CinetPay's GET ping,
WAITING_FOR_CUSTOMER and its verification API, Centili's parameter order and
406. It prints one line per check as it ends: pass, fail, warn or skip, what
happened, and for a failure the gateway's rule and how to fix it.

The checks run on payments your app created (--order for QRIS, --transaction
for CinetPay, --reference for Centili; repeat the flag, the checks take them
in turn), or else on payments the check creates: a handler that looks up its
orders answers 404 to those, and the check says so.

Exit codes: 0 no check failed, 4 one did, 1 the run could not finish,
2 bad flags (or a 400 from the API), 3 no or wrong admin token, 6 the
simulator is unreachable. The checks are described in docs/checks.md.`,
		Example: `  callbacksim check qris --url http://localhost:3000/payment-callback
  callbacksim check qris --url http://localhost:3000/payment-callback --order ORDER-1 --order ORDER-2
  callbacksim check cinetpay --url http://localhost:3000/cinetpay/notify --junit reports/callbacksim.xml
  callbacksim check centili --url http://localhost:3000/centili --only centili.parameter_order --json`,
		Args:      exactArgs(1, "a gateway: qris, cinetpay or centili"),
		ValidArgs: config.ProviderNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.run(cmd, args[0])
		},
	}
	cf.client.register(cmd)
	f := cmd.Flags()
	f.StringVar(&cf.url, "url", "", "your handler's URL (required)")
	f.StringArrayVar(&cf.orders, "order", nil, "a payment your app created: its order_id (qris), transaction_id (cinetpay, alias --transaction) or reference (centili, alias --reference); repeatable")
	f.StringVar(&cf.merchant, "merchant", "", "the simulator's merchant (default: the first with a block of that gateway)")
	f.StringSliceVar(&cf.only, "only", nil, "run only these checks (and those they need), e.g. qris.no_redirect,qris.answers_in_time")
	f.StringVar(&cf.junit, "junit", "", "write a JUnit XML report to this file (a report of another gateway in it is kept)")
	f.DurationVar(&cf.verifyWindow, "verify-window", check.DefaultVerifyWindow, "how long to wait for your handler's call to CinetPay's verification API")
	f.DurationVar(&cf.poll, "poll", 250*time.Millisecond, "how often to look at the run")
	f.DurationVar(&cf.timeout, "timeout", 10*time.Minute, "give up waiting for the run after this long")
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "transaction", "reference":
			name = "order"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

func (cf *checkFlags) run(cmd *cobra.Command, provider string) error {
	if len(check.Names(provider)) == 0 {
		return usageError{fmt.Errorf("unknown gateway %q: want qris, cinetpay or centili", provider)}
	}
	if cf.url == "" {
		return usageError{fmt.Errorf("--url is required: the URL of your handler, e.g. http://127.0.0.1:3000/%s", provider)}
	}
	if cf.poll < 10*time.Millisecond || cf.timeout <= 0 {
		return usageError{fmt.Errorf("--poll must be at least 10ms and --timeout positive")}
	}
	c, err := cf.client.newClient(true)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()

	req := check.Request{Provider: provider, URL: cf.url, MerchantID: cf.merchant, Orders: cf.orders, Only: cf.only,
		VerifyWindow: cf.verifyWindow.String()}
	var started struct {
		ID string `json:"id"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/v1/checks", req, true, &started); err != nil {
		return fmt.Errorf("start the checks: %w", err)
	}
	out, progress := cmd.OutOrStdout(), cmd.ErrOrStderr()
	human := !cf.client.json
	if human {
		fmt.Fprintf(out, "checking the %s handler at %s (run %s)\n", provider, cf.url, started.ID)
	}
	run, raw, err := cf.follow(ctx, c, started.ID, out, progress, human)
	if err != nil {
		return err
	}
	if cf.junit != "" {
		if err := writeJUnit(cf.junit, run); err != nil {
			return err
		}
	}
	if human {
		writeSummary(out, run, c.base)
	} else if err := printJSON(out, raw); err != nil {
		return err
	}
	return runError(run)
}

// follow polls run id until it ends, printing each result as it comes
// (human) and the check in progress to progress; it returns the run as it
// ended, and as the API answered it.
func (cf *checkFlags) follow(ctx context.Context, c *client, id string, out, progress io.Writer, human bool) (check.Run, []byte, error) {
	printed := map[string]bool{}
	current := ""
	for {
		var run check.Run
		raw, err := c.do(ctx, http.MethodGet, "/v1/checks/"+url.PathEscape(id), nil, true, &run)
		if err != nil {
			return run, nil, cf.followErr(ctx, id, err)
		}
		for _, res := range run.Results {
			if human && !printed[res.Name] {
				writeResult(out, res)
			}
			printed[res.Name] = true
		}
		if human && run.Current != "" && run.Current != current && !printed[run.Current] {
			fmt.Fprintf(progress, "  ... %s\n", run.Current)
		}
		current = run.Current
		if run.Status != check.Running {
			return run, raw, nil
		}
		select {
		case <-ctx.Done():
			return run, nil, cf.followErr(ctx, id, ctx.Err())
		case <-time.After(cf.poll):
		}
	}
}

func (cf *checkFlags) followErr(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("gave up after --timeout %s: run %s is still running on the simulator", cf.timeout, id)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted: run %s goes on on the simulator (GET /v1/checks/%s)", id, id)
	}
	return fmt.Errorf("follow run %s: %w", id, err)
}

// runError is the command's error for a run that ended: nil when no check
// failed.
func runError(run check.Run) error {
	if run.Error != "" {
		return fmt.Errorf("run %s could not finish: %s", run.ID, run.Error)
	}
	failed := 0
	for _, res := range run.Results {
		if res.Status == check.Fail {
			failed++
		}
	}
	if failed > 0 {
		return exitCodeError{ExitCheckFailed, fmt.Errorf("%d of the %s handler's checks failed", failed, run.Provider)}
	}
	return nil
}

// writeResult prints one check: its verdict, name, what happened and its
// callbacks on one line; for a failure or a warning, the rule and the fix
// below it.
func writeResult(w io.Writer, res check.Result) {
	line := fmt.Sprintf("%-4s  %s: %s", strings.ToUpper(string(res.Status)), res.Name, oneLine(res.Detail))
	if len(res.CallbackIDs) > 0 {
		line += " [" + strings.Join(res.CallbackIDs, " ") + "]"
	}
	fmt.Fprintln(w, line)
	if res.Status == check.Fail || res.Status == check.Warn {
		fmt.Fprintf(w, "      rule: %s (%s)\n", oneLine(res.Rule), oneLine(res.Source))
		if res.Hint != "" {
			fmt.Fprintf(w, "      fix:  %s\n", oneLine(res.Hint))
		}
	}
}

// writeSummary prints the counts of a run and where to see it.
func writeSummary(w io.Writer, run check.Run, api *url.URL) {
	count := map[check.Status]int{}
	for _, res := range run.Results {
		count[res.Status]++
	}
	took := ""
	if run.FinishedAt != nil {
		took = fmt.Sprintf(" in %.1f s", run.FinishedAt.Sub(run.StartedAt).Seconds())
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d warned, %d skipped%s; the callbacks are in the dashboard at %s/\n",
		run.Provider, count[check.Pass], count[check.Fail], count[check.Warn], count[check.Skip], took, api.Redacted())
}

// writeJUnit writes run's testsuite into the JUnit report at path (its
// folder made if need be), keeping the other gateways' testsuites of a
// report already there.
func writeJUnit(path string, run check.Run) error {
	existing, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--junit: %w", err)
	}
	report, err := check.JUnit(existing, run)
	if err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := os.WriteFile(path, report, 0o644); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
