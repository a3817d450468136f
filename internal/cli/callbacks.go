package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callbacksim/callbacksim/internal/curlcmd"
	"github.com/callbacksim/callbacksim/internal/store"
)

// exactArgs is cobra.ExactArgs whose error is a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("want %s, got %d argument(s)", what, len(args))}
		}
		return nil
	}
}

func callbacksCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "callbacks",
		Short: "The operator API: list, show, resend and retry callbacks",
		Long: `The operator API from the command line. Every subcommand takes --api
(env CALLBACKSIM_API) and --token (env CALLBACKSIM_ADMIN_TOKEN, the
server's name, or CALLBACKSIM_TOKEN), and --json for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError{fmt.Errorf("callbacks needs a subcommand: list, show, resend or retry-now")}
		},
	}
	cf.register(cmd)
	cmd.AddCommand(callbacksListCmd(&cf), callbacksShowCmd(&cf), callbacksResendCmd(&cf), callbacksRetryNowCmd(&cf))
	return cmd
}

// listAnswer is the body of GET /v1/callbacks.
type listAnswer struct {
	Callbacks  []store.Callback `json:"callbacks"`
	NextCursor *string          `json:"next_cursor"`
}

func callbacksListCmd(cf *clientFlags) *cobra.Command {
	var (
		provider, status, cursor, search string
		limit                            int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List callbacks, newest first",
		Example: `  callbacksim callbacks list --status failed
  callbacksim callbacks list --search ORDER-12345
  callbacksim callbacks list --provider qris --limit 10 --json | jq -r '.callbacks[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.newClient(true)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"provider": provider, "status": status, "cursor": cursor, "search": search} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if cmd.Flags().Changed("limit") {
				q.Set("limit", strconv.Itoa(limit))
			}
			path := "/v1/callbacks"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var ans listAnswer
			raw, err := c.do(cmd.Context(), http.MethodGet, path, nil, true, &ans)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if cf.json {
				return printJSON(out, raw)
			}
			if len(ans.Callbacks) == 0 {
				fmt.Fprintln(out, "no callbacks")
				return nil
			}
			if err := writeCallbacks(out, ans.Callbacks, time.Now()); err != nil {
				return err
			}
			if ans.NextCursor != nil {
				fmt.Fprintf(out, "\nmore: %s\n", nextPageCommand(cmd, *ans.NextCursor))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "only this provider: qris, cinetpay or centili")
	f.StringVar(&status, "status", "", "only this status: pending, retrying, delivered, rejected or failed")
	f.IntVar(&limit, "limit", 50, "callbacks per page, 1 to 500")
	f.StringVar(&cursor, "cursor", "", "the next_cursor of the previous page")
	f.StringVar(&search, "search", "", "only callbacks whose id, reference (order id, transaction id, Centili reference) or gateway transaction id contains this, in any letter case")
	return cmd
}

// nextPageCommand is the command line that lists the page after this one:
// this one's, with every filter and flag the user gave (the token aside,
// which stays out of the terminal's history) and the next cursor.
func nextPageCommand(cmd *cobra.Command, cursor string) string {
	words := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "cursor", "token":
			return
		}
		words = append(words, "--"+f.Name+"="+curlcmd.Quote(f.Value.String()))
	})
	return strings.Join(append(words, "--cursor", curlcmd.Quote(cursor)), " ")
}

func callbacksShowCmd(cf *clientFlags) *cobra.Command {
	var (
		verbose, asCurl bool
		attempt         int
		target          string
	)
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a callback and every attempt: what was sent, what came back, and a hint when it failed",
		Example: `  callbacksim callbacks show cb_... -v
  callbacksim callbacks show cb_... --curl                    # the last attempt's request, as a curl command
  callbacksim callbacks show cb_... --curl --attempt 1 --url http://127.0.0.1:3000/webhooks/qris | sh`,
		Args: exactArgs(1, "one callback id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !asCurl && (cmd.Flags().Changed("attempt") || target != "") {
				return usageError{errors.New("--attempt and --url go with --curl")}
			}
			if asCurl && (cf.json || verbose) {
				return usageError{errors.New("--curl prints the command alone: leave out --json and --verbose")}
			}
			c, err := cf.newClient(true)
			if err != nil {
				return err
			}
			var cb store.Callback
			raw, err := c.do(cmd.Context(), http.MethodGet, "/v1/callbacks/"+url.PathEscape(args[0]), nil, true, &cb)
			if err != nil {
				return err
			}
			if asCurl {
				return writeCurl(cmd.OutOrStdout(), cb, attempt, target)
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			return writeCallback(cmd.OutOrStdout(), cb, verbose, time.Now())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&verbose, "verbose", "v", false, "print every request and answer: headers and bodies")
	f.BoolVar(&asCurl, "curl", false, "print an attempt's request as a curl command that sends it again, byte for byte (headers in order, body, signature as sent)")
	f.IntVar(&attempt, "attempt", 0, "with --curl: the attempt's number (default: the last)")
	f.StringVar(&target, "url", "", "with --curl: send it here instead (scheme, host and path; the original query is kept unless this URL has one)")
	return cmd
}

// writeCurl prints attempt n of cb (0: the last) as a curl command.
func writeCurl(w io.Writer, cb store.Callback, n int, target string) error {
	if len(cb.Attempts) == 0 {
		return exitCodeError{ExitNotFound, fmt.Errorf("callback %s has no attempt yet: nothing was sent to replay", cb.ID)}
	}
	if n == 0 {
		n = len(cb.Attempts)
	}
	if n < 1 || n > len(cb.Attempts) {
		return exitCodeError{ExitNotFound, fmt.Errorf("callback %s has %d attempt(s), no attempt %d", cb.ID, len(cb.Attempts), n)}
	}
	line, err := curlcmd.Command(cb.Attempts[n-1].Request, target)
	if errors.Is(err, curlcmd.ErrBadTarget) {
		return usageError{fmt.Errorf("--url %w", err)}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, line)
	return err
}

// bulkAnswer is the body of POST /v1/callbacks/resend.
type bulkAnswer struct {
	Queued   int      `json:"queued"`
	NotFound []string `json:"not_found"`
}

func callbacksResendCmd(cf *clientFlags) *cobra.Command {
	var (
		provider, status, since, until string
		all                            bool
	)
	cmd := &cobra.Command{
		Use:   "resend [ID...]",
		Short: "Send callbacks once more, now (marked manual; the retry budget is untouched)",
		Long: `Resend one callback, several by id, or every callback a filter selects
(--provider, --status, --since, --until; --all for every callback). A resend
is one manual attempt, whatever the status: if it is delivered (or rejected)
the callback becomes delivered (rejected); if it fails, the status stays.`,
		Example: `  callbacksim callbacks resend cb_8kq2...
  callbacksim callbacks resend --status failed --provider qris --since 1h`,
		RunE: func(cmd *cobra.Command, args []string) error {
			filtered := provider != "" || status != "" || since != "" || until != ""
			switch {
			case len(args) > 0 && (filtered || all):
				return usageError{fmt.Errorf("give callback ids or filter flags, not both")}
			case len(args) == 0 && !filtered && !all:
				return usageError{fmt.Errorf("give callback ids, filter flags (--provider, --status, --since, --until), or --all")}
			}
			c, err := cf.newClient(true)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				raw, err := c.do(cmd.Context(), http.MethodPost, "/v1/callbacks/"+url.PathEscape(args[0])+"/resend", nil, true, nil)
				if err != nil {
					return err
				}
				if cf.json {
					return printJSON(out, raw)
				}
				fmt.Fprintf(out, "resend of %s queued\n", args[0])
				return nil
			}
			body := map[string]any{"ids": args}
			if len(args) == 0 {
				filter := map[string]string{}
				for k, v := range map[string]string{"provider": provider, "status": status} {
					if v != "" {
						filter[k] = v
					}
				}
				for k, v := range map[string]string{"since": since, "until": until} {
					if v == "" {
						continue
					}
					t, err := parseWhen(v, time.Now())
					if err != nil {
						return usageError{fmt.Errorf("--%s: %w", k, err)}
					}
					filter[k] = t.Format(time.RFC3339Nano)
				}
				body = map[string]any{"filter": filter}
			}
			var ans bulkAnswer
			raw, err := c.do(cmd.Context(), http.MethodPost, "/v1/callbacks/resend", body, true, &ans)
			if err != nil {
				return err
			}
			if cf.json {
				if err := printJSON(out, raw); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "%d callback(s) queued for resend\n", ans.Queued)
			}
			if len(ans.NotFound) > 0 {
				return exitCodeError{ExitNotFound, fmt.Errorf("no callback %s (unknown, or older than the retention)", strings.Join(ans.NotFound, ", "))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "resend the callbacks of this provider")
	f.StringVar(&status, "status", "", "resend the callbacks in this status (e.g. failed)")
	f.StringVar(&since, "since", "", "created at or after: RFC 3339, or a duration ago such as 1h")
	f.StringVar(&until, "until", "", "created before: RFC 3339, or a duration ago such as 10m")
	f.BoolVar(&all, "all", false, "resend every callback (an empty filter)")
	return cmd
}

// parseWhen reads an RFC 3339 time, or a duration before now ("90m").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2024-01-20T10:30:00Z) or a duration ago (90m), got %q", s)
}

func callbacksRetryNowCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry-now ID",
		Short: "Run a callback's scheduled retry (or held first attempt) now",
		Args:  exactArgs(1, "one callback id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.newClient(true)
			if err != nil {
				return err
			}
			raw, err := c.do(cmd.Context(), http.MethodPost, "/v1/callbacks/"+url.PathEscape(args[0])+"/retry-now", nil, true, nil)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scheduled attempt of %s runs now\n", args[0])
			return nil
		},
	}
}
