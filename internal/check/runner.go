package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/gateway/centili"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Payments is what a check asks of a gateway whose payments it completes
// (QRIS, CinetPay): *qris.Gateway and *cinetpay.Gateway.
type Payments interface {
	PaymentStatus(ctx context.Context, merchantID, ref string) (string, error)
	CreatePayment(ctx context.Context, merchantID, ref, url string) error
	Complete(ctx context.Context, merchantID, ref, status string, d gateway.CheckDelivery) (string, error)
	Forge(ctx context.Context, merchantID, ref, status string, d gateway.CheckDelivery) (string, error)
}

// Verifier tells when a merchant called CinetPay's verification API
// about a payment: *cinetpay.Gateway.
type Verifier interface {
	Payments
	Verifications(ctx context.Context, merchantID, ref string) ([]time.Time, error)
}

// Notifier makes Centili notifications: *centili.Gateway.
type Notifier interface {
	Notify(ctx context.Context, merchantID string, n centili.CheckNotification, d gateway.CheckDelivery) (centili.Notified, error)
}

// Store is what a run reads and writes in the store.
type Store interface {
	Get(ctx context.Context, id string) (*store.Callback, error)
	SaveCheck(ctx context.Context, id string, started time.Time, run []byte) error
	GetCheck(ctx context.Context, id string) ([]byte, error)
	ListChecks(ctx context.Context, limit int) ([][]byte, error)
}

// Queue sends a callback's notification once more.
type Queue interface {
	Repeat(ctx context.Context, id string) error
}

var _ Store = (*store.Store)(nil)

// Gateways are the gateways the suites run against.
type Gateways struct {
	QRIS     Payments
	CinetPay Verifier
	Centili  Notifier
}

// Limits of a Runner.
const (
	// MaxRunning bounds the runs in progress in one process.
	MaxRunning = 8
	// heartbeat is how often a run in progress saves a sign of life.
	heartbeat = 5 * time.Second
	// staleAfter is how long a running run may go without a sign of life
	// before it is shown as failed: the process running it stopped.
	staleAfter = 6 * heartbeat
)

// Runner starts runs and reads them back. Its zero value is not usable:
// call NewRunner.
type Runner struct {
	cfg      config.Config
	store    Store
	queue    Queue
	gateways Gateways
	log      *slog.Logger
	now      func() time.Time

	ctx     context.Context // ends at Shutdown
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running chan struct{} // a token per run in progress
}

// NewRunner returns a Runner on the process's store, queue and gateways.
func NewRunner(cfg config.Config, st Store, q Queue, gw Gateways, log *slog.Logger) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		cfg: cfg, store: st, queue: q, gateways: gw, log: log, now: time.Now,
		ctx: ctx, cancel: cancel, running: make(chan struct{}, MaxRunning),
	}
}

// Shutdown stops the runs in progress, which end failed, and waits for them
// to record it, up to ctx.
func (r *Runner) Shutdown(ctx context.Context) {
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Names lists the checks of provider's suite, in order.
func Names(provider string) []string { return suites[provider].names() }

var suites = map[string]suite{
	config.QRIS:     qrisSuite,
	config.CinetPay: cinetpaySuite,
	config.Centili:  centiliSuite,
}

// Start validates req, starts its run and returns the run's id. Bad input
// is an *httpapi.Error naming the field; too many runs in progress is a
// 429.
func (r *Runner) Start(ctx context.Context, req Request) (string, error) {
	run, window, err := r.plan(ctx, req)
	if err != nil {
		return "", err
	}
	select {
	case r.running <- struct{}{}:
	default:
		return "", httpapi.Errorf(http.StatusTooManyRequests, "%d check runs are in progress, the most one simulator runs at once; start this one when one ends", MaxRunning)
	}
	if err := r.saveRun(ctx, run); err != nil {
		<-r.running
		return "", err
	}
	x := &exec{
		ctx: r.ctx, suite: suites[run.Provider], deps: r, window: window, run: run,
		verdicts: map[string]Status{}, save: func(s *Run) { r.persist(s) },
	}
	p, _ := r.cfg.Providers.Get(run.Provider)
	x.timeout = p.Timeout
	if m, ok := r.merchant(run.MerchantID); ok && m.QRIS != nil {
		x.signs = m.QRIS.SigningSecret != ""
	}
	r.wg.Add(1)
	go r.execute(x)
	return run.ID, nil
}

// plan validates req into a new run.
func (r *Runner) plan(ctx context.Context, req Request) (*Run, time.Duration, error) {
	s, ok := suites[req.Provider]
	if !ok {
		return nil, 0, httpapi.BadField("provider", "must be one of %s, got %q", strings.Join(config.ProviderNames, ", "), req.Provider)
	}
	if req.URL == "" {
		return nil, 0, httpapi.BadField("url", "is required: the URL of the handler to check")
	}
	if err := config.CheckCallbackURL(req.URL); err != nil {
		return nil, 0, httpapi.BadField("url", "%v", err)
	}
	m, err := r.merchantFor(s, req.MerchantID)
	if err != nil {
		return nil, 0, err
	}
	if len(req.Orders) > MaxOrders {
		return nil, 0, httpapi.BadField("orders", "holds %d payments; at most %d", len(req.Orders), MaxOrders)
	}
	for i, ref := range req.Orders {
		if err := r.checkRef(ctx, s, m, i, ref); err != nil {
			return nil, 0, err
		}
	}
	for i, name := range req.Only {
		if _, ok := s.spec(name); !ok {
			return nil, 0, httpapi.BadField("only["+strconv.Itoa(i)+"]", "%q is not a %s check; the checks are %s",
				name, req.Provider, strings.Join(s.names(), ", "))
		}
	}
	window := DefaultVerifyWindow
	if req.VerifyWindow != "" {
		window, err = time.ParseDuration(req.VerifyWindow)
		if err != nil || window <= 0 || window > MaxVerifyWindow {
			return nil, 0, httpapi.BadField("verify_window", "must be a duration from 1ms to %s such as \"10s\", got %q", MaxVerifyWindow, req.VerifyWindow)
		}
	}
	now := r.now().UTC()
	run := &Run{
		ID: store.NewIDWithPrefix("chk_"), Provider: req.Provider, URL: req.URL, MerchantID: m.ID,
		Orders: slices.Clone(req.Orders), Only: slices.Clone(req.Only), Status: Running,
		StartedAt: now, UpdatedAt: now, Checks: s.selection(req.Only), Results: []Result{},
	}
	if run.Orders == nil {
		run.Orders = []string{}
	}
	return run, window, nil
}

// merchantFor is the merchant a run on suite s uses: id, or the first
// merchant with a block of its gateway.
func (r *Runner) merchantFor(s suite, id string) (config.Merchant, error) {
	if id == "" {
		for _, m := range r.cfg.Merchants {
			if s.has(m) {
				return m, nil
			}
		}
		return config.Merchant{}, httpapi.BadField("merchant_id", "no merchant of the configuration has a %s block", s.provider)
	}
	m, ok := r.merchant(id)
	if !ok {
		return config.Merchant{}, httpapi.BadField("merchant_id", "no merchant %q in the configuration", id)
	}
	if !s.has(m) {
		return config.Merchant{}, httpapi.BadField("merchant_id", "merchant %q has no %s block", id, s.provider)
	}
	return m, nil
}

func (r *Runner) merchant(id string) (config.Merchant, bool) {
	i := slices.IndexFunc(r.cfg.Merchants, func(m config.Merchant) bool { return m.ID == id })
	if i < 0 {
		return config.Merchant{}, false
	}
	return r.cfg.Merchants[i], true
}

// checkRef checks the i-th payment of a request on suite s: printable,
// and, for a gateway that keeps payments, one the merchant's app created.
func (r *Runner) checkRef(ctx context.Context, s suite, m config.Merchant, i int, ref string) error {
	field := "orders[" + strconv.Itoa(i) + "]"
	if ref == "" || utf8.RuneCountInString(ref) > 100 || !utf8.ValidString(ref) ||
		strings.ContainsFunc(ref, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return httpapi.BadField(field, "must be 1 to 100 printable characters")
	}
	if s.payments == nil {
		return nil // Centili keeps no payment: a reference is the merchant's own
	}
	_, err := s.payments(r.gateways).PaymentStatus(ctx, m.ID, ref)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.BadField(field, "merchant %s has no %s payment %q: create it through your app first (%s)",
			m.ID, s.provider, ref, s.initiate)
	}
	return err
}

// execute runs x's suite to the end and records how it ended.
func (r *Runner) execute(x *exec) {
	defer r.wg.Done()
	defer func() { <-r.running }()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				x.persist()
			}
		}
	}()
	err := x.suite.run(x)
	close(stop)

	x.mu.Lock()
	now := r.now().UTC()
	x.run.FinishedAt, x.run.Current, x.run.Status = &now, "", Passed
	if slices.ContainsFunc(x.run.Results, func(res Result) bool { return res.Status == Fail }) {
		x.run.Status = Failed
	}
	switch {
	case errors.Is(err, context.Canceled):
		x.run.Status, x.run.Error = Failed, "the simulator shut down before the run finished"
	case err != nil:
		x.run.Status, x.run.Error = Failed, "the run could not finish: "+err.Error()
	}
	x.mu.Unlock()
	x.persist()
	r.log.Info("check run finished", "check", x.run.ID, "provider", x.run.Provider, "status", x.run.Status)
}

// persist saves a snapshot of a run as a sign of life; a failure is logged,
// and the next save tries again.
func (r *Runner) persist(run *Run) {
	run.UpdatedAt = r.now().UTC()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
	defer cancel()
	if err := r.saveRun(ctx, run); err != nil {
		r.log.Warn("save check run", "check", run.ID, "error", err)
	}
}

func (r *Runner) saveRun(ctx context.Context, run *Run) error {
	raw, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("check: encode run: %w", err)
	}
	return r.store.SaveCheck(ctx, run.ID, run.StartedAt, raw)
}

// Get returns run id, or an error wrapping ErrNotFound.
func (r *Runner) Get(ctx context.Context, id string) (*Run, error) {
	raw, err := r.store.GetCheck(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("check %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return r.decode(raw)
}

// List returns up to limit runs, newest first.
func (r *Runner) List(ctx context.Context, limit int) ([]Run, error) {
	raws, err := r.store.ListChecks(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(raws))
	for _, raw := range raws {
		run, err := r.decode(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, *run)
	}
	return out, nil
}

// decode reads a stored run; a running run with no sign of life for
// staleAfter is shown as failed: the process running it stopped.
func (r *Runner) decode(raw []byte) (*Run, error) {
	var run Run
	if err := json.Unmarshal(raw, &run); err != nil {
		return nil, fmt.Errorf("check: decode run: %w", err)
	}
	if run.Status == Running && r.now().Sub(run.UpdatedAt) > staleAfter {
		run.Status, run.Current = Failed, ""
		run.Error = fmt.Sprintf("the simulator process running it stopped before it finished (no sign of life since %s)",
			run.UpdatedAt.Format(time.RFC3339))
	}
	return &run, nil
}
