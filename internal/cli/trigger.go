package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/store"
)

// triggerFlags are the flags of trigger qris|cinetpay|centili.
type triggerFlags struct {
	client clientFlags

	amount        int64
	status        string
	url           string
	reference     string
	paymentMethod string
	currency      string

	qrisToken string
	apikey    string
	siteID    string
	service   string

	delay      time.Duration
	duplicates int
	outOfOrder bool

	follow  bool
	poll    time.Duration
	timeout time.Duration
}

// gatewayStatuses are the outcomes each gateway's simulate endpoint takes.
var gatewayStatuses = map[string][]string{
	config.QRIS:     {"SUCCESS", "FAILED"},
	config.CinetPay: {"ACCEPTED", "REFUSED", "WAITING_FOR_CUSTOMER"},
	config.Centili:  {"success", "failed", "canceled"},
}

func triggerCmd() *cobra.Command {
	var tf triggerFlags
	cmd := &cobra.Command{
		Use:   "trigger qris|cinetpay|centili",
		Short: "Create and complete a simulated payment, then follow its callback until it ends",
		Long: `trigger creates a payment on a running simulator and completes it in one
go, prints the callback id, then follows the callback's attempts live (from
the operator API) until it is delivered, rejected or failed. Every flag,
and the admin token (with one read of the operator API), is checked before
the payment is created: a refused trigger leaves nothing behind.

Exit codes: 0 delivered, 4 failed or rejected, 1 other errors (a timeout),
2 bad flags, 3 no or wrong admin token, 6 the simulator is unreachable.
With --follow=false it exits 0 once the callback is queued.`,
		Example: `  callbacksim trigger qris --url http://localhost:3000/payment-callback
  callbacksim trigger qris --status FAILED --duplicates 2 --delay 30s
  callbacksim trigger cinetpay --url http://localhost:3000/cinetpay/notify --out-of-order
  callbacksim trigger centili --status failed --json`,
		Args:      exactArgs(1, "a gateway: qris, cinetpay or centili"),
		ValidArgs: config.ProviderNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return tf.run(cmd, args[0])
		},
	}
	tf.client.register(cmd)
	f := cmd.Flags()
	f.Int64Var(&tf.amount, "amount", 0, "amount: IDR for qris (default 50000), a multiple of 5 for cinetpay (default 100), units of goods for centili")
	f.StringVar(&tf.status, "status", "", "outcome: qris SUCCESS|FAILED, cinetpay ACCEPTED|REFUSED|WAITING_FOR_CUSTOMER, centili success|failed|canceled (default: the successful one)")
	f.StringVar(&tf.url, "url", "", "where the callback goes: callback_url (qris), notify_url (cinetpay); centili uses the service's notification_url (aliases: --callback-url, --notify-url)")
	f.StringVar(&tf.reference, "reference", "", "the merchant's reference: order_id (qris), transaction_id (cinetpay), reference (centili); default: a new one")
	f.StringVar(&tf.paymentMethod, "payment-method", "", "payment method reported (qris: QRIS, VA...; cinetpay: OM, MOMO, VISM...)")
	f.StringVar(&tf.currency, "currency", "XOF", "cinetpay currency: XOF, XAF, CDF, GNF or USD")
	f.StringVar(&tf.qrisToken, "qris-token", "demo-qris-token", "the merchant's QRIS access token")
	f.StringVar(&tf.apikey, "apikey", "demo-apikey", "the merchant's CinetPay apikey")
	f.StringVar(&tf.siteID, "site-id", "445160", "the merchant's CinetPay site_id")
	f.StringVar(&tf.service, "service", "demo-service", "the merchant's Centili service (API key)")
	f.DurationVar(&tf.delay, "delay", 0, "scenario: hold the first attempt this long (before time_scale)")
	f.IntVar(&tf.duplicates, "duplicates", 0, "scenario: send the same notification this many extra times (same body, same gateway ids)")
	f.BoolVar(&tf.outOfOrder, "out-of-order", false, "scenario: deliver the payment's successive notifications in reverse (cinetpay: the final status first, then WAITING_FOR_CUSTOMER)")
	f.BoolVar(&tf.follow, "follow", true, "follow the callback's attempts until it ends (needs the admin token)")
	f.DurationVar(&tf.poll, "poll", 250*time.Millisecond, "how often to look at the callback while following")
	f.DurationVar(&tf.timeout, "timeout", 0, "give up following after this long (0: never)")
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "callback-url", "notify-url":
			name = "url"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// triggered is what trigger learnt from the gateway.
type triggered struct {
	Provider    string         `json:"provider"`
	Reference   string         `json:"reference"`
	Payment     map[string]any `json:"payment,omitempty"` // the initiation's answer
	CallbackID  string         `json:"callback_id"`
	CallbackIDs []string       `json:"callback_ids,omitempty"`
	// Callbacks are the followed callbacks, with their attempts.
	Callbacks []store.Callback `json:"callbacks,omitempty"`
}

func (tf *triggerFlags) run(cmd *cobra.Command, provider string) error {
	statuses, ok := gatewayStatuses[provider]
	if !ok {
		return usageError{fmt.Errorf("unknown gateway %q: want qris, cinetpay or centili", provider)}
	}
	if err := tf.check(provider, statuses); err != nil {
		return usageError{err}
	}
	c, err := tf.client.newClient(tf.follow)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if tf.follow {
		// Following needs the operator API: a wrong token must stop
		// trigger before it creates a payment, not after.
		if _, err := c.do(ctx, http.MethodGet, "/v1/callbacks?limit=1", nil, true, nil); err != nil {
			return fmt.Errorf("check the admin token before creating the payment: %w", err)
		}
	}
	out := cmd.OutOrStdout()
	human := !tf.client.json

	var t *triggered
	switch provider {
	case config.QRIS:
		t, err = tf.qris(ctx, c)
	case config.CinetPay:
		t, err = tf.cinetpay(ctx, c)
	default:
		t, err = tf.centili(ctx, c)
	}
	if err != nil {
		return err
	}
	ids := t.CallbackIDs
	if len(ids) == 0 {
		ids = []string{t.CallbackID}
	}
	if human {
		fmt.Fprintf(out, "%s payment %s completed as %s\n", provider, oneLine(t.Reference), tf.status)
		for _, id := range ids {
			fmt.Fprintf(out, "callback %s\n", id)
		}
	}
	if !tf.follow {
		if !human {
			return printJSON(out, t)
		}
		return nil
	}
	var w io.Writer = io.Discard
	if human {
		w = out
	}
	cbs, err := tf.followAll(ctx, c, ids, w)
	t.Callbacks = cbs
	if err != nil {
		if !human && len(cbs) > 0 {
			_ = printJSON(out, t)
		}
		return err
	}
	if !human {
		if err := printJSON(out, t); err != nil {
			return err
		}
	}
	for _, cb := range cbs {
		if cb.Status != store.StatusDelivered {
			return exitCodeError{ExitCallbackFailed, fmt.Errorf("callback %s ended %s", cb.ID, cb.Status)}
		}
	}
	return nil
}

// check validates the flags and fills the gateway's defaults.
func (tf *triggerFlags) check(provider string, statuses []string) error {
	if tf.status == "" {
		tf.status = statuses[0]
	}
	i := slices.IndexFunc(statuses, func(s string) bool { return strings.EqualFold(s, tf.status) })
	if i < 0 {
		return fmt.Errorf("--status for %s must be one of %s, got %q", provider, strings.Join(statuses, ", "), tf.status)
	}
	tf.status = statuses[i]
	switch provider {
	case config.QRIS, config.CinetPay:
		if tf.url == "" {
			return fmt.Errorf("--url is required for %s: where your handler listens, e.g. http://127.0.0.1:9090/%s (callbacksim merchant)", provider, provider)
		}
		if err := config.CheckCallbackURL(tf.url); err != nil {
			return fmt.Errorf("--url %w", err)
		}
	case config.Centili:
		if tf.url != "" {
			return fmt.Errorf("--url does not apply to centili: it notifies the service's notification_url, set in the simulator's configuration")
		}
		if tf.outOfOrder {
			return fmt.Errorf("--out-of-order applies to gateways that send several notifications per payment (cinetpay)")
		}
	}
	if provider == config.CinetPay && tf.outOfOrder && tf.status == "WAITING_FOR_CUSTOMER" {
		return fmt.Errorf("--out-of-order sends the final status before WAITING_FOR_CUSTOMER: give --status ACCEPTED or REFUSED with it")
	}
	if provider == config.QRIS && tf.outOfOrder {
		return fmt.Errorf("--out-of-order applies to gateways that send several notifications per payment (cinetpay); QRIS sends one")
	}
	if tf.amount < 0 {
		return fmt.Errorf("--amount must be positive, got %d", tf.amount)
	}
	if tf.duplicates < 0 || tf.duplicates > gateway.MaxDuplicates {
		return fmt.Errorf("--duplicates must be between 0 and %d, got %d", gateway.MaxDuplicates, tf.duplicates)
	}
	if tf.delay < 0 || tf.delay > gateway.MaxDelay {
		return fmt.Errorf("--delay must be between 0 and %s, got %s", gateway.MaxDelay, tf.delay)
	}
	if tf.poll < 10*time.Millisecond {
		return fmt.Errorf("--poll must be at least 10ms")
	}
	if tf.reference == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		tf.reference = "CLI-" + time.Now().UTC().Format("20060102-150405") + "-" + strings.ToUpper(hex.EncodeToString(b))
	}
	return nil
}

func (tf *triggerFlags) scenario() map[string]any {
	sc := map[string]any{}
	if tf.delay > 0 {
		sc["delay"] = tf.delay.String()
	}
	if tf.duplicates > 0 {
		sc["duplicates"] = tf.duplicates
	}
	if tf.outOfOrder {
		sc["out_of_order"] = true
	}
	if len(sc) == 0 {
		return nil
	}
	return sc
}

// simulateAnswer is the 202 of every simulate endpoint.
type simulateAnswer struct {
	CallbackID  string   `json:"callback_id"`
	CallbackIDs []string `json:"callback_ids"`
}

func (tf *triggerFlags) simulate(ctx context.Context, c *client, path string, body map[string]any, auth string, t *triggered) error {
	if sc := tf.scenario(); sc != nil {
		body["scenario"] = sc
	}
	var ans simulateAnswer
	if _, err := c.doAuth(ctx, http.MethodPost, path, body, auth, &ans); err != nil {
		return fmt.Errorf("simulate the outcome: %w", err)
	}
	if ans.CallbackID == "" && len(ans.CallbackIDs) == 0 {
		return fmt.Errorf("simulate the outcome: the answer names no callback")
	}
	t.CallbackID, t.CallbackIDs = ans.CallbackID, ans.CallbackIDs
	if t.CallbackID == "" {
		t.CallbackID = ans.CallbackIDs[len(ans.CallbackIDs)-1]
	}
	return nil
}

func (tf *triggerFlags) qris(ctx context.Context, c *client) (*triggered, error) {
	amount := tf.amount
	if amount == 0 {
		amount = 50000
	}
	auth := "Bearer " + tf.qrisToken
	t := &triggered{Provider: config.QRIS, Reference: tf.reference}
	_, err := c.doAuth(ctx, http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": amount, "order_id": tf.reference, "callback_url": tf.url,
		"customer_name": "callbacksim CLI", "customer_email": "cli@callbacksim.invalid",
		"customer_phone": "+6281200000000", "description": "Order " + tf.reference,
	}, auth, &t.Payment)
	if err != nil {
		return nil, fmt.Errorf("initiate the payment: %w", err)
	}
	body := map[string]any{"order_id": tf.reference, "status": tf.status}
	if tf.paymentMethod != "" {
		body["payment_method"] = tf.paymentMethod
	}
	return t, tf.simulate(ctx, c, "/api/qris/simulate", body, auth, t)
}

func (tf *triggerFlags) cinetpay(ctx context.Context, c *client) (*triggered, error) {
	amount := tf.amount
	if amount == 0 {
		amount = 100
	}
	t := &triggered{Provider: config.CinetPay, Reference: tf.reference}
	_, err := c.doAuth(ctx, http.MethodPost, "/v2/payment", map[string]any{
		"apikey": tf.apikey, "site_id": tf.siteID, "transaction_id": tf.reference,
		"amount": amount, "currency": tf.currency, "description": "Order " + tf.reference,
		"notify_url": tf.url, "return_url": returnURL(tf.url), "channels": "ALL",
		"customer_name": "CLI", "customer_surname": "callbacksim",
	}, "", &t.Payment)
	if err != nil {
		return nil, fmt.Errorf("initiate the payment: %w", err)
	}
	if code := fmt.Sprint(t.Payment["code"]); code != "201" {
		return nil, fmt.Errorf("initiate the payment: CinetPay answered code %s %v", code, t.Payment["message"])
	}
	body := map[string]any{"apikey": tf.apikey, "site_id": tf.siteID, "transaction_id": tf.reference, "status": tf.status}
	if tf.paymentMethod != "" {
		body["payment_method"] = tf.paymentMethod
	}
	return t, tf.simulate(ctx, c, "/v2/simulate", body, "", t)
}

// returnURL is where CinetPay would send the customer back: the notify URL's
// origin.
func returnURL(notify string) string {
	u, err := url.Parse(notify)
	if err != nil {
		return notify
	}
	return u.Scheme + "://" + u.Host + "/"
}

func (tf *triggerFlags) centili(ctx context.Context, c *client) (*triggered, error) {
	t := &triggered{Provider: config.Centili, Reference: tf.reference}
	body := map[string]any{"service": tf.service, "status": tf.status, "reference": tf.reference}
	if tf.amount > 0 {
		body["amount"] = tf.amount
	}
	return t, tf.simulate(ctx, c, "/centili/simulate", body, "", t)
}

// doAuth is do with an Authorization header of the gateway's own ("" for
// none: CinetPay and Centili authenticate in the body).
func (c *client) doAuth(ctx context.Context, method, path string, body any, auth string, out any) ([]byte, error) {
	gw := *c
	gw.token = ""
	if auth != "" {
		gw.token = strings.TrimPrefix(auth, "Bearer ")
		return gw.do(ctx, method, path, body, true, out)
	}
	return gw.do(ctx, method, path, body, false, out)
}

// followAll follows callbacks ids until each has ended, printing every new
// attempt to w, and returns them as they ended.
func (tf *triggerFlags) followAll(ctx context.Context, c *client, ids []string, w io.Writer) ([]store.Callback, error) {
	if tf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tf.timeout)
		defer cancel()
	}
	p := &progress{w: w, tty: isTerminal(w), several: len(ids) > 1, seen: map[string]int{}, hints: map[string]bool{},
		due: map[string]time.Time{}, final: map[string]time.Time{}, done: map[string]bool{}}
	last := make(map[string]store.Callback, len(ids))
	for {
		done := true
		for _, id := range ids {
			if p.done[id] {
				continue
			}
			var cb store.Callback
			if _, err := c.do(ctx, http.MethodGet, "/v1/callbacks/"+url.PathEscape(id), nil, true, &cb); err != nil {
				p.clear()
				return collect(ids, last), tf.followErr(ctx, id, last[id], err)
			}
			last[id] = cb
			p.update(cb, time.Now(), tf.settled)
			if !p.done[id] {
				done = false
			}
		}
		if done {
			return collect(ids, last), nil
		}
		p.countdown(last, ids, time.Now())
		select {
		case <-ctx.Done():
			p.clear()
			return collect(ids, last), tf.followErr(ctx, ids[0], last[ids[0]], ctx.Err())
		case <-time.After(tf.poll):
		}
	}
}

// progress prints what trigger sees of its callbacks while it follows
// them: each new attempt (a hint once per callback, not under every
// attempt alike), when the next attempt is due, and the final line once
// the duplicates are in.
type progress struct {
	w       io.Writer
	tty     bool // a terminal: the countdown rewrites one line
	several bool // several callbacks: each line says which
	line    bool // a countdown line is on the terminal
	seen    map[string]int
	hints   map[string]bool      // by callback id and hint
	due     map[string]time.Time // the next attempt announced, by callback
	final   map[string]time.Time // when each callback was first seen final
	done    map[string]bool      // final and settled: its last line printed
}

// update prints what is new in cb, seen at now.
func (p *progress) update(cb store.Callback, now time.Time, settled func(store.Callback, time.Time) bool) {
	label := ""
	if p.several {
		label = strings.TrimSpace(cb.ID + " " + oneLine(cb.Event))
		if _, ok := p.seen[cb.ID]; !ok && cb.Event != "" {
			p.clear()
			fmt.Fprintf(p.w, "callback %s carries the %s notification\n", cb.ID, oneLine(cb.Event))
		}
	}
	for _, a := range cb.Attempts[min(p.seen[cb.ID], len(cb.Attempts)):] {
		p.clear()
		if p.hints[cb.ID+"\x00"+a.Hint] {
			a.Hint = "" // said under an earlier attempt
		} else if a.Hint != "" {
			p.hints[cb.ID+"\x00"+a.Hint] = true
		}
		fmt.Fprint(p.w, label)
		writeAttemptLine(p.w, a)
	}
	p.seen[cb.ID] = len(cb.Attempts)
	if cb.NextAttemptAt != nil && !cb.NextAttemptAt.Equal(p.due[cb.ID]) {
		p.due[cb.ID] = *cb.NextAttemptAt
		if !p.tty {
			fmt.Fprintf(p.w, "%s  next attempt %s\n", label, nextAttempt(cb.NextAttemptAt, now))
		}
	}
	if !cb.Status.Final() {
		return
	}
	if _, ok := p.final[cb.ID]; !ok {
		p.final[cb.ID] = now
	}
	if settled(cb, p.final[cb.ID]) {
		p.done[cb.ID] = true
		p.clear()
		fmt.Fprintf(p.w, "callback %s %s after %d attempt(s)\n", cb.ID, cb.Status, len(cb.Attempts))
	}
}

// countdown rewrites the terminal's last line with the time left to the
// soonest next attempt.
func (p *progress) countdown(last map[string]store.Callback, ids []string, now time.Time) {
	if !p.tty {
		return
	}
	var soonest *store.Callback
	for _, id := range ids {
		cb := last[id]
		if cb.NextAttemptAt != nil && !p.done[id] && (soonest == nil || cb.NextAttemptAt.Before(*soonest.NextAttemptAt)) {
			soonest = &cb
		}
	}
	if soonest == nil {
		p.clear()
		return
	}
	who := ""
	if p.several {
		who = " of " + soonest.ID
	}
	fmt.Fprintf(p.w, "\r\x1b[K  next attempt%s %s", who, nextAttempt(soonest.NextAttemptAt, now))
	p.line = true
}

// clear removes the countdown line before another line is printed.
func (p *progress) clear() {
	if p.line {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.line = false
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// settled reports whether a final callback has all the attempts to expect:
// the scenario's duplicates are sent alongside the first attempt and may be
// recorded just after it ended. They are waited for at most 5 s.
func (tf *triggerFlags) settled(cb store.Callback, finalAt time.Time) bool {
	return len(cb.Attempts) >= 1+tf.duplicates || time.Since(finalAt) > 5*time.Second
}

func (tf *triggerFlags) followErr(ctx context.Context, id string, cb store.Callback, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("gave up after --timeout %s: callback %s is still %s", tf.timeout, id, cb.Status)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: callback %s is %s", id, cb.Status)
	}
	return fmt.Errorf("follow callback %s: %w", id, err)
}

func collect(ids []string, by map[string]store.Callback) []store.Callback {
	out := make([]store.Callback, 0, len(ids))
	for _, id := range ids {
		if cb, ok := by[id]; ok {
			out = append(out, cb)
		}
	}
	return out
}
