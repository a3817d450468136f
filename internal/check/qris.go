package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// The QRIS checks.
const (
	qrisSuccess   = "qris.success_acknowledged"
	qrisFailed    = "qris.failed_acknowledged"
	qrisDuplicate = "qris.duplicate_acknowledged"
	qrisForged    = "qris.forged_signature_rejected"
	qrisRedirect  = "qris.no_redirect"
	qrisInTime    = "qris.answers_in_time"
)

// QRIS statuses of a payment.
const (
	qrisPending = "PENDING"
	qrisOK      = "SUCCESS"
	qrisKO      = "FAILED"
)

const qrisDocs = "QRIS gateway, Payment Callbacks documentation"

var qrisSuite = suite{
	provider: config.QRIS,
	specs: []spec{
		{name: qrisSuccess, after: []string{qrisRedirect, qrisInTime},
			rule:   `"If your endpoint doesn't respond with HTTP 200, we automatically retry the callback" (after 5 s, 30 s and 2 min, then the callback fails): a SUCCESS callback is answered 200`,
			source: qrisDocs + ", Retry Policy"},
		{name: qrisFailed, after: []string{qrisSuccess},
			rule:   `the status is "SUCCESS or FAILED", and a FAILED callback is retried like any other until it is answered 200`,
			source: qrisDocs + ", Callback Payload and Retry Policy"},
		{name: qrisDuplicate, after: []string{qrisSuccess},
			rule:   `"Because callbacks are retried, your endpoint must be idempotent": the same callback again is answered 200, and changes nothing`,
			source: qrisDocs + ", Idempotency"},
		{name: qrisForged, after: []string{qrisSuccess},
			rule:   `a signed merchant verifies X-Callback-Signature (HMAC-SHA256 of the raw body) or the Standard Webhooks signature, and refuses a callback whose signature does not verify`,
			source: "callbacksim's QRIS signing, opt-in since the gateway's page shows no signature: X-Callback-Signature as Tripay signs, or Standard Webhooks (standardwebhooks.com)"},
		{name: qrisRedirect,
			rule:   `only HTTP 200 counts, and a redirect is not followed: a 3xx (a missing trailing slash, http to https) is a failed attempt`,
			source: qrisDocs + ", Retry Policy; Standard Webhooks, a 3xx is a failure"},
		{name: qrisInTime,
			rule:   `an attempt with no answer within providers.qris.timeout is a failure, retried later; answer at once and do slow work afterwards`,
			source: qrisDocs + ", Retry Policy; callbacksim's providers.qris.timeout (10 s by default)"},
	},
	run:      runQRIS,
	has:      func(m config.Merchant) bool { return m.QRIS != nil },
	payments: func(g Gateways) Payments { return g.QRIS },
	initiate: "POST /api/qris/initiate",
	refName:  "--order",
}

// runQRIS runs the QRIS suite. The 1st payment gets a forged SUCCESS while
// it is pending (the attack: marking an unpaid order paid), then its real
// SUCCESS, then that callback again; the 2nd payment is completed FAILED.
func runQRIS(x *exec) error {
	gw := x.deps.gateways.QRIS
	merchant := x.run.MerchantID
	p1, why, err := x.take(0, gw, "pending or SUCCESS", qrisKO)
	if err != nil {
		return err
	}
	if why != "" {
		x.skipAll(why, qrisRedirect, qrisInTime, qrisSuccess, qrisForged, qrisDuplicate, qrisFailed)
		return nil
	}

	forged, forgedWhy := "", ""
	var forgedAttempt store.Attempt
	switch {
	case !x.wants(qrisForged):
	case !x.signs:
		forgedWhy = fmt.Sprintf("merchant %s signs no callback (its qris.signing_secret is empty), so there is no signature to verify; set one to run this check", merchant)
	case p1.status != qrisPending:
		forgedWhy = fmt.Sprintf("order %s is already %s: your handler may rightly ignore a callback about it; give a pending order", p1.ref, p1.status)
	default:
		x.working(qrisForged)
		forged, err = gw.Forge(x.ctx, merchant, p1.ref, qrisOK, x.delivery(payloads.Variant{Forged: true}))
		if err != nil {
			return err
		}
		if forgedAttempt, err = x.deliver(forged); err != nil {
			return err
		}
	}

	x.working(qrisSuccess)
	success, err := gw.Complete(x.ctx, merchant, p1.ref, qrisOK, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	a, err := x.deliver(success)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("SUCCESS callback of order %s", p1.ref)
	if x.ready(qrisRedirect) {
		if c := code(a); c >= 300 && c < 400 {
			x.record(qrisRedirect, Fail, what+": "+answered(a), a.Hint, []string{success})
		} else {
			x.record(qrisRedirect, Pass, what+": "+answered(a)+", no redirect", "", []string{success})
		}
	}
	if x.ready(qrisInTime) {
		x.judgeInTime(a, what, success)
	}
	if x.ready(qrisSuccess) {
		x.judgeAcknowledged(qrisSuccess, p1, a, what, success)
	}
	if x.ready(qrisForged) {
		switch {
		case forgedWhy != "":
			x.record(qrisForged, Skip, forgedWhy, "", nil)
		case code(forgedAttempt) >= 200 && code(forgedAttempt) < 300:
			x.record(qrisForged, Fail,
				fmt.Sprintf("a SUCCESS callback of pending order %s with a signature that does not verify: %s", p1.ref, answered(forgedAttempt)),
				"verify the signature over the raw body bytes before anything else, and answer 401 when it does not match: anyone can POST a SUCCESS to your URL",
				[]string{forged})
		default:
			x.record(qrisForged, Pass,
				fmt.Sprintf("a SUCCESS callback of pending order %s with a signature that does not verify: %s, refused", p1.ref, answered(forgedAttempt)),
				"", []string{forged})
		}
	}
	if x.ready(qrisDuplicate) {
		again, err := x.repeat(success)
		if err != nil {
			return err
		}
		x.judgeAcknowledged(qrisDuplicate, p1, again, "the same SUCCESS callback again", success)
	}
	if x.ready(qrisFailed) {
		return x.qrisFailed()
	}
	return nil
}

// qrisFailed completes the 2nd payment FAILED.
func (x *exec) qrisFailed() error {
	gw := x.deps.gateways.QRIS
	p2, why, err := x.take(1, gw, "pending or FAILED", qrisOK)
	if err != nil {
		return err
	}
	if why != "" {
		x.record(qrisFailed, Skip, why, "", nil)
		return nil
	}
	id, err := gw.Complete(x.ctx, x.run.MerchantID, p2.ref, qrisKO, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	a, err := x.deliver(id)
	if err != nil {
		return err
	}
	x.judgeAcknowledged(qrisFailed, p2, a, fmt.Sprintf("FAILED callback of order %s", p2.ref), id)
	return nil
}

// judgeInTime is qris.answers_in_time's verdict on attempt a: a fail when
// no answer came within the timeout, a warning above a fifth of it.
func (x *exec) judgeInTime(a store.Attempt, what, id string) {
	took := time.Duration(a.DurationMS * float64(time.Millisecond))
	limit := x.timeout
	switch {
	case strings.HasPrefix(a.Error, "timeout"):
		x.record(qrisInTime, Fail, fmt.Sprintf("%s: %s; the gateway gives up after %s", what, answered(a), limit),
			"answer 200 as soon as the callback is stored, and do slow work (emails, fulfilment) after answering, in a job", []string{id})
	case a.Response == nil:
		x.record(qrisInTime, Pass, fmt.Sprintf("%s: %s: not for lack of time", what, answered(a)), "", []string{id})
	case took > limit/5:
		x.record(qrisInTime, Warn, fmt.Sprintf("%s: %s, more than a fifth of the %s timeout", what, answered(a), limit),
			"a busier server will go over the timeout: answer first, then do the slow work in a job", []string{id})
	default:
		x.record(qrisInTime, Pass, fmt.Sprintf("%s: %s, within the %s timeout", what, answered(a), limit), "", []string{id})
	}
}
