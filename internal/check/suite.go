package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// spec is one check of a suite: its stable name, the rule it tests and
// where the rule comes from, and the checks that must pass (or warn) for
// its verdict to mean something.
type spec struct {
	name   string
	rule   string
	source string
	after  []string
}

// suite is a gateway's checks, in report order, and the function that
// runs them.
type suite struct {
	provider string
	specs    []spec
	run      func(x *exec) error
	// has reports whether a merchant has a block of this gateway.
	has func(config.Merchant) bool
	// payments is the gateway's payments, nil for a gateway that keeps
	// none (Centili); initiate says how a merchant's app creates one.
	payments func(Gateways) Payments
	initiate string
	// refName is what the merchant's payments are called on the command
	// line, for the skip reasons: "--order", "--transaction", ...
	refName string
}

func (s suite) spec(name string) (spec, bool) {
	i := slices.IndexFunc(s.specs, func(sp spec) bool { return sp.name == name })
	if i < 0 {
		return spec{}, false
	}
	return s.specs[i], true
}

// names lists the suite's checks in order.
func (s suite) names() []string {
	out := make([]string, len(s.specs))
	for i, sp := range s.specs {
		out[i] = sp.name
	}
	return out
}

// selection is the checks a run reports: those asked for and every check
// they need, in suite order; every check when none is asked for.
func (s suite) selection(only []string) []string {
	if len(only) == 0 {
		return s.names()
	}
	want := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if want[name] {
			return
		}
		want[name] = true
		sp, _ := s.spec(name)
		for _, dep := range sp.after {
			add(dep)
		}
	}
	for _, name := range only {
		add(name)
	}
	var out []string
	for _, sp := range s.specs {
		if want[sp.name] {
			out = append(out, sp.name)
		}
	}
	return out
}

// errUndelivered: a check's callback got no attempt in time; the simulator
// (no worker running), not the handler, is at fault.
var errUndelivered = errors.New("check: the callback was not delivered in time")

// exec is one run of a suite in progress: the run's record, what the suite
// needs to deliver, and the verdicts so far.
type exec struct {
	ctx     context.Context
	suite   suite
	deps    *Runner
	timeout time.Duration // the provider's per-attempt timeout
	window  time.Duration // cinetpay.status_verified's wait
	signs   bool          // QRIS: the merchant signs its callbacks

	mu       sync.Mutex
	run      *Run
	verdicts map[string]Status
	save     func(*Run) // persists a snapshot of the run
	created  int        // payments of the check's own, so far
}

// wants reports whether the run reports check name.
func (x *exec) wants(name string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Contains(x.run.Checks, name)
}

// ready reports whether check name is to be judged now: the run reports
// it, and every check it needs passed or warned. When one did not, name
// is skipped, saying which. It marks name as the check in progress.
func (x *exec) ready(name string) bool {
	if !x.wants(name) {
		return false
	}
	sp, _ := x.suite.spec(name)
	x.mu.Lock()
	var blocked []string
	for _, dep := range sp.after {
		if v := x.verdicts[dep]; v != Pass && v != Warn {
			blocked = append(blocked, fmt.Sprintf("%s (%s)", dep, v))
		}
	}
	x.run.Current = name
	x.mu.Unlock()
	if len(blocked) > 0 {
		x.record(name, Skip, "not judged: it needs "+strings.Join(blocked, " and ")+
			" to pass first, and means nothing until it does", "fix that check first", nil)
		return false
	}
	x.persist()
	return true
}

// working shows check name as the one in progress, while its deliveries
// go out before it is judged.
func (x *exec) working(name string) {
	if !x.wants(name) {
		return
	}
	x.mu.Lock()
	x.run.Current = name
	x.mu.Unlock()
	x.persist()
}

// record gives check name its verdict.
func (x *exec) record(name string, st Status, detail, hint string, ids []string) {
	sp, _ := x.suite.spec(name)
	res := Result{Name: name, Rule: sp.rule, Source: sp.source, Status: st, Detail: detail, Hint: hint, CallbackIDs: ids}
	if res.CallbackIDs == nil {
		res.CallbackIDs = []string{}
	}
	x.mu.Lock()
	x.verdicts[name] = st
	x.run.Results = append(x.run.Results, res)
	order := x.run.Checks
	slices.SortStableFunc(x.run.Results, func(a, b Result) int {
		return slices.Index(order, a.Name) - slices.Index(order, b.Name)
	})
	x.run.Current = ""
	x.mu.Unlock()
	x.persist()
}

// skipAll skips every check of names the run reports, for one reason.
func (x *exec) skipAll(reason string, names ...string) {
	for _, name := range names {
		if x.wants(name) {
			x.record(name, Skip, reason, "", nil)
		}
	}
}

func (x *exec) persist() {
	x.mu.Lock()
	snap := *x.run
	snap.Results = slices.Clone(x.run.Results)
	x.mu.Unlock()
	x.save(&snap)
}

// delivery is how the run's callbacks go out: to the handler under test,
// tagged with the run, bent by v, never retried.
func (x *exec) delivery(v payloads.Variant) gateway.CheckDelivery {
	return gateway.CheckDelivery{URL: x.run.URL, CheckID: x.run.ID, Variant: v}
}

// pollEvery is how often a run looks at the store while it waits.
const pollEvery = 20 * time.Millisecond

// deliverGrace is how long past the provider's timeout a run waits for a
// callback's attempt before it blames the simulator: queueing, and a
// saturated host's wait.
const deliverGrace = 15 * time.Second

// deliver waits for callback id's first attempt (it takes no retry) and
// returns it.
func (x *exec) deliver(id string) (store.Attempt, error) {
	var got store.Attempt
	err := x.waitFor(id, func(cb *store.Callback) bool {
		if !cb.Status.Final() || len(cb.Attempts) == 0 {
			return false
		}
		got = cb.Attempts[0]
		return true
	})
	return got, err
}

// repeat sends callback id's notification once more and returns that
// attempt.
func (x *exec) repeat(id string) (store.Attempt, error) {
	cb, err := x.deps.store.Get(x.ctx, id)
	if err != nil {
		return store.Attempt{}, err
	}
	before := len(cb.Attempts)
	if err := x.deps.queue.Repeat(x.ctx, id); err != nil {
		return store.Attempt{}, err
	}
	var got store.Attempt
	err = x.waitFor(id, func(cb *store.Callback) bool {
		for _, a := range cb.Attempts[min(before, len(cb.Attempts)):] {
			if a.Kind == store.Duplicate {
				got = a
				return true
			}
		}
		return false
	})
	return got, err
}

// waitFor polls callback id until done holds of it.
func (x *exec) waitFor(id string, done func(*store.Callback) bool) error {
	limit := x.timeout + deliverGrace
	deadline := time.Now().Add(limit)
	for {
		cb, err := x.deps.store.Get(x.ctx, id)
		if err != nil {
			return err
		}
		if done(cb) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: callback %s had no attempt within %s; is a worker running (callbacksim serve, roles worker)?",
				errUndelivered, id, limit)
		}
		if err := sleep(x.ctx, pollEvery); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// payment is a payment checks run on.
type payment struct {
	ref    string // order_id, transaction_id or reference
	own    bool   // the check created it: the merchant's app never made it
	status string // its status when the run took it ("" for Centili)
}

// take returns the payment the n-th need of the suite runs on (0-based):
// the n-th the merchant gave, or, when it gave none, a new one of the
// check's own, created through gw (nil, for Centili: the gateway keeps no
// payment, a reference is all there is). A merchant that gave fewer, or a
// payment already in one of the states refused, gets skip, with the
// reason; needs says what the check needs instead.
func (x *exec) take(n int, gw Payments, needs string, refused ...string) (payment, string, error) {
	given := x.run.Orders
	switch {
	case n < len(given):
		p := payment{ref: given[n]}
		if gw == nil {
			return p, "", nil
		}
		st, err := gw.PaymentStatus(x.ctx, x.run.MerchantID, p.ref)
		if err != nil {
			return payment{}, "", err
		}
		p.status = st
		if slices.Contains(refused, st) {
			return p, fmt.Sprintf("no payment for it: %s %s is already %s, and the check needs one that is %s",
				strings.TrimPrefix(x.suite.refName, "--"), p.ref, st, needs), nil
		}
		return p, "", nil
	case len(given) > 0:
		were := fmt.Sprintf("%d were", len(given))
		if len(given) == 1 {
			were = "only 1 was"
		}
		return payment{}, fmt.Sprintf("no payment for it: it runs on the %s %s given, and %s given (the checks take them in turn; see docs/checks.md)",
			ordinal(n+1), x.suite.refName, were), nil
	}
	x.mu.Lock()
	x.created++
	ref := fmt.Sprintf("CHECK-%s-%d", strings.ToUpper(strings.TrimPrefix(x.run.ID, "chk_")[:8]), x.created)
	x.mu.Unlock()
	p := payment{ref: ref, own: true}
	if gw != nil {
		if err := gw.CreatePayment(x.ctx, x.run.MerchantID, ref, x.run.URL); err != nil {
			return payment{}, "", err
		}
		p.status = "PENDING"
	}
	return p, "", nil
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return strconv.Itoa(n) + "th"
}

// code is the HTTP status of an attempt's deciding answer, 0 when none
// came whole.
func code(a store.Attempt) int {
	if a.Response == nil || a.Error != "" {
		return 0
	}
	return a.Response.Status
}

// answered says how an attempt's deciding request ended: "answered 404 in
// 2.1 ms", or why no answer came.
func answered(a store.Attempt) string {
	switch {
	case a.Response != nil && a.Error == "":
		s := fmt.Sprintf("answered %d in %s", a.Response.Status, millis(a.DurationMS))
		if loc := a.Response.Headers.Get("Location"); loc != "" && a.Response.Status >= 300 && a.Response.Status < 400 {
			s += " (Location: " + loc + ")"
		}
		return s
	case a.Response != nil:
		return fmt.Sprintf("answered %d, but the answer broke off after %s (%s)", a.Response.Status, millis(a.DurationMS), a.Error)
	}
	return fmt.Sprintf("no answer after %s (%s)", millis(a.DurationMS), a.Error)
}

func millis(ms float64) string {
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// judgeAcknowledged is the verdict of a notification that must be answered
// 200 (the only code every gateway counts as delivered), on payment p.
func (x *exec) judgeAcknowledged(name string, p payment, a store.Attempt, what string, ids ...string) {
	got := code(a)
	detail := what + ": " + answered(a)
	if got == http.StatusOK {
		x.record(name, Pass, detail, "", ids)
		return
	}
	hint := a.Hint
	switch {
	case got == http.StatusNotFound && p.own:
		detail += fmt.Sprintf("; %s is a payment the check created, which your app never made, and a handler that looks up its payments answers 404 to one it does not know",
			p.ref)
		hint = fmt.Sprintf("run the check on payments your app created: create one through your app, then pass it with %s ID (404 is also a wrong URL: check the path)", x.suite.refName)
	case got >= 200 && got < 300:
		hint = fmt.Sprintf("answer exactly 200: the gateway counts only 200 as delivered, and retries a %d", got)
	case hint == "":
		hint = "answer 200 once the notification is processed (or was already)"
	}
	x.record(name, Fail, detail, hint, ids)
}
