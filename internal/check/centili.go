package check

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway/centili"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// The Centili checks.
const (
	centiliNotified     = "centili.notification_acknowledged"
	centiliOrder        = "centili.parameter_order"
	centiliForged       = "centili.forged_sign_rejected"
	centiliDuplicate    = "centili.duplicate_acknowledged"
	centiliFailed       = "centili.failed_acknowledged"
	centiliSubscription = "centili.subscription_events"
)

const centiliDocs = "Centili documentation, Payment result notification"

var centiliSuite = suite{
	provider: config.Centili,
	specs: []spec{
		{name: centiliNotified,
			rule:   `"HTTP status 200: Result notification is successfully completed on your side"; with neither 200 nor 406 (a 201 or 204 too) "Centili will keep retrying notifying you 3 times during the next 30 minutes"`,
			source: centiliDocs},
		{name: centiliOrder, after: []string{centiliNotified},
			rule:   `sign is "applied on concatenated list of alphabetically sorted parameters": a valid notification with its parameters in another order is answered 200`,
			source: centiliDocs + ", parameter sign"},
		{name: centiliForged, after: []string{centiliNotified},
			rule:   `a notification whose sign does not verify is not accepted; "HTTP status 406: Result notification is rejected (Not acceptable) and we will immediately discontinue notification"`,
			source: centiliDocs + ", responses"},
		{name: centiliDuplicate, after: []string{centiliNotified},
			rule:   `notifications are retried ("3 times during the next 30 minutes") and resent from the partner panel: a repeat is answered 200`,
			source: centiliDocs + ", resending"},
		{name: centiliFailed, after: []string{centiliNotified},
			rule:   `a failed payment's notification (status failed, with errormessage) is answered 200 like any other, or it is retried`,
			source: centiliDocs + ", parameters status and errormessage"},
		{name: centiliSubscription, after: []string{centiliNotified},
			rule:   `"All the transactions related to single subscription (opt_in, recurring_billing, opt_out) will have identical subscriptionid value": each event is answered 200`,
			source: centiliDocs + ", parameter subscriptionid"},
	},
	run:     runCentili,
	has:     func(m config.Merchant) bool { return m.Centili != nil },
	refName: "--reference",
}

// centiliSorted is the order of every Centili notification of the suite but
// centili.parameter_order's: sorted by name, sign last, so that only that
// check, which sends Centili's own order, tests whether the handler sorts.
var centiliSorted = payloads.Variant{Order: payloads.OrderSorted}

// runCentili runs the Centili suite. The 1st reference gets a one-off
// payment, that notification again, one in Centili's own order and one with
// a forged sign; the 2nd a failed payment; the 3rd a subscription.
func runCentili(x *exec) error {
	p1, why, err := x.take(0, nil, "")
	if err != nil {
		return err
	}
	if why != "" {
		x.skipAll(why, centiliNotified, centiliOrder, centiliForged, centiliDuplicate, centiliFailed, centiliSubscription)
		return nil
	}
	x.working(centiliNotified)
	base, a, err := x.centiliNotify(centili.CheckNotification{Status: "success", Reference: p1.ref}, centiliSorted)
	if err != nil {
		return err
	}
	what := "one-off success notification" + x.ofReference(p1)
	if x.ready(centiliNotified) {
		x.judgeAcknowledged(centiliNotified, p1, a, what, base.CallbackID)
	}
	if x.ready(centiliDuplicate) {
		again, err := x.repeat(base.CallbackID)
		if err != nil {
			return err
		}
		x.judgeAcknowledged(centiliDuplicate, p1, again, "the same notification again", base.CallbackID)
	}
	if x.ready(centiliOrder) {
		n, a, err := x.centiliNotify(centili.CheckNotification{Status: "success", Reference: p1.ref}, payloads.Variant{})
		if err != nil {
			return err
		}
		what := "a valid notification" + x.ofReference(p1) + " with its parameters in Centili's own order (its parameter table's, not alphabetical; sign among them)"
		if code(a) == http.StatusOK {
			x.record(centiliOrder, Pass, what+": "+answered(a), "", []string{n.CallbackID})
		} else {
			x.record(centiliOrder, Fail, what+": "+answered(a)+", while the same in alphabetical order, sign last, was answered 200",
				"compute sign over the values sorted by parameter name (sign itself excluded, wherever it stands), not in the order they arrive: Centili's own order is not alphabetical",
				[]string{n.CallbackID})
		}
	}
	if x.ready(centiliForged) {
		n, a, err := x.centiliNotify(centili.CheckNotification{Status: "success", Reference: p1.ref}, payloads.Variant{Forged: true, Order: payloads.OrderSorted})
		if err != nil {
			return err
		}
		what := "a success notification" + x.ofReference(p1) + " whose sign does not verify: " + answered(a)
		ids := []string{n.CallbackID}
		switch c := code(a); {
		case c == http.StatusNotAcceptable:
			x.record(centiliForged, Pass, what+", rejected", "", ids)
		case c == http.StatusOK:
			x.record(centiliForged, Fail, what+", accepted",
				"verify sign (HMAC of the sorted values with the service's signature key) before anything else, and answer 406 when it does not match: anyone can call your URL", ids)
		default:
			x.record(centiliForged, Warn, what+", refused, but not with 406",
				"answer 406 to a bad sign: Centili retries any other refusal 3 times, and 406 stops it", ids)
		}
	}
	if x.ready(centiliFailed) {
		if err := x.centiliFailed(); err != nil {
			return err
		}
	}
	if x.ready(centiliSubscription) {
		return x.centiliSubscription()
	}
	return nil
}

// centiliNotify sends a notification bent by v and waits for its attempt.
func (x *exec) centiliNotify(n centili.CheckNotification, v payloads.Variant) (centili.Notified, store.Attempt, error) {
	sent, err := x.deps.gateways.Centili.Notify(x.ctx, x.run.MerchantID, n, x.delivery(v))
	if err != nil {
		return centili.Notified{}, store.Attempt{}, err
	}
	a, err := x.deliver(sent.CallbackID)
	return sent, a, err
}

// ofReference names the reference of a notification, for details.
func (x *exec) ofReference(p payment) string {
	if p.ref == "" {
		return ""
	}
	return " of reference " + p.ref
}

// centiliFailed sends the 2nd reference a failed payment.
func (x *exec) centiliFailed() error {
	p, why, err := x.take(1, nil, "")
	if err != nil {
		return err
	}
	if why != "" {
		x.record(centiliFailed, Skip, why, "", nil)
		return nil
	}
	n, a, err := x.centiliNotify(centili.CheckNotification{Status: "failed", Reference: p.ref}, centiliSorted)
	if err != nil {
		return err
	}
	x.judgeAcknowledged(centiliFailed, p, a, "failed payment notification (errormessage CHARGING_FAILED)"+x.ofReference(p), n.CallbackID)
	return nil
}

// centiliSubscription sends the 3rd reference a subscription: opt_in,
// recurring_billing and opt_out, one after the other.
func (x *exec) centiliSubscription() error {
	p, why, err := x.take(2, nil, "")
	if err != nil {
		return err
	}
	if why != "" {
		x.record(centiliSubscription, Skip, why, "", nil)
		return nil
	}
	var (
		ids, said []string
		sub       string
	)
	for _, event := range []string{"opt_in", "recurring_billing", "opt_out"} {
		n, a, err := x.centiliNotify(centili.CheckNotification{Status: "success", EventType: event, Reference: p.ref, SubscriptionID: sub}, centiliSorted)
		if err != nil {
			return err
		}
		sub = n.SubscriptionID
		ids = append(ids, n.CallbackID)
		said = append(said, event+" "+answered(a))
		if code(a) != http.StatusOK {
			what := fmt.Sprintf("the %s notification of subscription %s%s", event, sub, x.ofReference(p))
			if len(said) > 1 {
				what = "after " + strings.Join(said[:len(said)-1], ", ") + ", " + what
			}
			x.judgeAcknowledged(centiliSubscription, p, a, what, ids...)
			return nil
		}
	}
	x.record(centiliSubscription, Pass, fmt.Sprintf("subscription %s: %s", sub, strings.Join(said, ", ")), "", ids)
	return nil
}
