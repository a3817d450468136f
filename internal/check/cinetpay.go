package check

import (
	"fmt"
	"net/http"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// The CinetPay checks.
const (
	cinetpayPing     = "cinetpay.ping_answered"
	cinetpayNotified = "cinetpay.notification_acknowledged"
	cinetpayVerified = "cinetpay.status_verified"
	cinetpayRepeat   = "cinetpay.repeat_acknowledged"
	cinetpayWaiting  = "cinetpay.waiting_then_final"
	cinetpayForged   = "cinetpay.forged_token_not_trusted"
	cinetpayRefused  = "cinetpay.refused_acknowledged"
)

// CinetPay statuses of a payment.
const (
	cinetpayPending  = "PENDING"
	cinetpayWaitingS = "WAITING_FOR_CUSTOMER"
	cinetpayAccepted = "ACCEPTED"
	cinetpayRefusedS = "REFUSED"
)

const cinetpayDocs = "CinetPay documentation, Prepare a notification page"

var cinetpaySuite = suite{
	provider: config.CinetPay,
	specs: []spec{
		{name: cinetpayPing,
			rule:   `"This url must be available to accommodate HTTP requests of type GET and POST and return statut HTTP 200 OK": the gateway pings it with a GET first`,
			source: cinetpayDocs},
		{name: cinetpayNotified,
			rule:   `the form POST of the notification is answered HTTP 200 OK`,
			source: cinetpayDocs},
		{name: cinetpayVerified, after: []string{cinetpayNotified},
			rule:   `"You will always have to make a call to the payment Verification of transaction API for have the true values of the payment": POST /v2/payment/check after the notification`,
			source: cinetpayDocs},
		{name: cinetpayRepeat, after: []string{cinetpayNotified},
			rule:   `"The notification url can be called multiple times": a repeat of a notification is answered 200`,
			source: cinetpayDocs},
		{name: cinetpayWaiting, after: []string{cinetpayVerified},
			rule:   `"your system receives an initial notification with the status WAITING_FOR_CUSTOMER ... If you update the payment as a definite failure", the final one is not processed: both are acknowledged and the final one is verified`,
			source: cinetpayDocs + ", NB on push-confirmed operators"},
		{name: cinetpayForged, after: []string{cinetpayNotified},
			rule:   `x-token is "an HMAC token to allow verification on the partner's side", and the notification carries no status to trust: a notification whose x-token does not verify is refused, or only followed by a call to the verification API`,
			source: cinetpayDocs + ", x-token and the HMAC token section"},
		{name: cinetpayRefused, after: []string{cinetpayNotified},
			rule:   `"CinetPay systematically calls the notification url" at the end of every payment, a refused one too ("No services shall be provided"): it is answered 200 like any other`,
			source: cinetpayDocs + ", failure answer"},
	},
	run:      runCinetPay,
	has:      func(m config.Merchant) bool { return m.CinetPay != nil },
	payments: func(g Gateways) Payments { return g.CinetPay },
	initiate: "POST /v2/payment",
	refName:  "--transaction",
}

// runCinetPay runs the CinetPay suite. The 1st payment gets its ACCEPTED
// notification, then that again; the 2nd goes WAITING_FOR_CUSTOMER then
// ACCEPTED; the 3rd gets a notification with a forged x-token while it is
// pending, then its REFUSED one.
func runCinetPay(x *exec) error {
	gw := x.deps.gateways.CinetPay
	merchant := x.run.MerchantID
	p1, why, err := x.take(0, gw, "pending or ACCEPTED", cinetpayRefusedS)
	if err != nil {
		return err
	}
	if why != "" {
		x.skipAll(why, cinetpayPing, cinetpayNotified, cinetpayVerified, cinetpayRepeat, cinetpayWaiting, cinetpayForged, cinetpayRefused)
		return nil
	}

	x.working(cinetpayNotified)
	mark, err := x.lastVerification(p1.ref)
	if err != nil {
		return err
	}
	accepted, err := gw.Complete(x.ctx, merchant, p1.ref, cinetpayAccepted, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	a, err := x.deliver(accepted)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("ACCEPTED notification of transaction %s", p1.ref)
	if x.ready(cinetpayPing) {
		x.judgePing(a, what, accepted)
	}
	if x.ready(cinetpayNotified) {
		x.judgeAcknowledged(cinetpayNotified, p1, a, what+", the form POST", accepted)
	}
	if x.ready(cinetpayVerified) {
		at, ok, err := x.verifiedAfter(p1.ref, mark)
		if err != nil {
			return err
		}
		if ok {
			x.record(cinetpayVerified, Pass, fmt.Sprintf("%s: your handler called POST /v2/payment/check for it %s after the notification started",
				what, millis(float64(at.Sub(a.At).Microseconds())/1000)), "", []string{accepted})
		} else {
			x.record(cinetpayVerified, Fail, fmt.Sprintf("%s: answered 200, and no call to POST /v2/payment/check for %s within %s", what, p1.ref, x.window),
				"on every notification, POST /v2/payment/check with apikey, site_id and cpm_trans_id, and act on its data.status only: the notification itself carries no status to trust",
				[]string{accepted})
		}
	}
	if x.ready(cinetpayRepeat) {
		again, err := x.repeat(accepted)
		if err != nil {
			return err
		}
		x.judgeAcknowledged(cinetpayRepeat, p1, again, "the same ACCEPTED notification again", accepted)
	}
	if x.ready(cinetpayWaiting) {
		if err := x.cinetpayWaiting(); err != nil {
			return err
		}
	}
	return x.cinetpayThird()
}

// forgery is what became of the forged notification.
type forgery struct {
	skip     string // why there is none
	id       string
	attempt  store.Attempt
	verified bool // a verification call followed it
}

// cinetpayForge sends payment p a notification with a forged x-token
// while it is pending, and waits for a verification call if it is
// accepted.
func (x *exec) cinetpayForge(p payment) (forgery, error) {
	if p.status != cinetpayPending && p.status != cinetpayWaitingS {
		return forgery{skip: fmt.Sprintf("transaction %s is already %s: your handler may rightly ignore a notification about it; give a pending transaction", p.ref, p.status)}, nil
	}
	mark, err := x.lastVerification(p.ref)
	if err != nil {
		return forgery{}, err
	}
	f := forgery{}
	f.id, err = x.deps.gateways.CinetPay.Forge(x.ctx, x.run.MerchantID, p.ref, cinetpayAccepted, x.delivery(payloads.Variant{Forged: true}))
	if err != nil {
		return forgery{}, err
	}
	if f.attempt, err = x.deliver(f.id); err != nil {
		return forgery{}, err
	}
	if c := code(f.attempt); c >= 200 && c < 300 {
		_, f.verified, err = x.verifiedAfter(p.ref, mark)
	}
	return f, err
}

// judgeForged is cinetpay.forged_token_not_trusted's verdict.
func (x *exec) judgeForged(f forgery, p payment) {
	what := fmt.Sprintf("an ACCEPTED notification of pending transaction %s with an x-token that does not verify", p.ref)
	c := code(f.attempt)
	switch {
	case f.skip != "":
		x.record(cinetpayForged, Skip, f.skip, "", nil)
	case c < 200 || c > 299:
		x.record(cinetpayForged, Pass, what+": "+answered(f.attempt)+", refused", "", []string{f.id})
	case f.verified:
		x.record(cinetpayForged, Pass, what+": "+answered(f.attempt)+", then verified with POST /v2/payment/check (which says it is not paid)", "", []string{f.id})
	default:
		x.record(cinetpayForged, Fail, fmt.Sprintf("%s: %s, and no call to POST /v2/payment/check followed within %s", what, answered(f.attempt), x.window),
			"check x-token (HMAC-SHA256 of the 16 fields with your secret key) and answer 401 when it does not match, or act only on what POST /v2/payment/check says: anyone can POST a notification to your URL",
			[]string{f.id})
	}
}

// judgePing is cinetpay.ping_answered's verdict on attempt a's GET ping.
func (x *exec) judgePing(a store.Attempt, what, id string) {
	if a.Ping == nil {
		x.record(cinetpayPing, Fail, what+": no GET ping was sent", "", []string{id})
		return
	}
	switch {
	case a.Ping.Response != nil && a.Ping.Error == "" && a.Ping.Response.Status == http.StatusOK:
		x.record(cinetpayPing, Pass, what+": the GET ping was answered 200", "", []string{id})
	case a.Ping.Response != nil && a.Ping.Response.Status == http.StatusMethodNotAllowed:
		x.record(cinetpayPing, Fail, fmt.Sprintf("%s: the GET ping was answered 405", what),
			"the route takes POST only: register it for GET too (answer 200 with an empty body), as CinetPay checks that the URL is available with a GET", []string{id})
	case a.Ping.Response != nil:
		x.record(cinetpayPing, Fail, fmt.Sprintf("%s: the GET ping was answered %d", what, a.Ping.Response.Status),
			"answer a GET to the notify URL with 200 (CinetPay sends no data with it)", []string{id})
	default:
		x.record(cinetpayPing, Fail, fmt.Sprintf("%s: the GET ping had no answer (%s)", what, a.Ping.Error),
			"answer a GET to the notify URL with 200 (CinetPay sends no data with it)", []string{id})
	}
}

// cinetpayWaiting sends the 2nd payment WAITING_FOR_CUSTOMER, then
// ACCEPTED.
func (x *exec) cinetpayWaiting() error {
	gw := x.deps.gateways.CinetPay
	p, why, err := x.take(1, gw, "pending", cinetpayAccepted, cinetpayRefusedS)
	if err != nil {
		return err
	}
	if why != "" {
		x.record(cinetpayWaiting, Skip, why, "", nil)
		return nil
	}
	waiting, err := gw.Complete(x.ctx, x.run.MerchantID, p.ref, cinetpayWaitingS, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	first, err := x.deliver(waiting)
	if err != nil {
		return err
	}
	if code(first) != http.StatusOK {
		x.record(cinetpayWaiting, Fail, fmt.Sprintf("WAITING_FOR_CUSTOMER notification of transaction %s: %s", p.ref, answered(first)),
			"answer 200 to every notification; WAITING_FOR_CUSTOMER means the customer has yet to confirm: leave the order pending", []string{waiting})
		return nil
	}
	mark, err := x.lastVerification(p.ref)
	if err != nil {
		return err
	}
	final, err := gw.Complete(x.ctx, x.run.MerchantID, p.ref, cinetpayAccepted, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	second, err := x.deliver(final)
	if err != nil {
		return err
	}
	ids := []string{waiting, final}
	what := fmt.Sprintf("WAITING_FOR_CUSTOMER then ACCEPTED notifications of transaction %s: %s, then %s", p.ref, answered(first), answered(second))
	if code(second) != http.StatusOK {
		x.record(cinetpayWaiting, Fail, what,
			"a payment that waited for the customer can still succeed: do not treat WAITING_FOR_CUSTOMER as final, and answer 200 to the notification that follows", ids)
		return nil
	}
	_, ok, err := x.verifiedAfter(p.ref, mark)
	if err != nil {
		return err
	}
	if !ok {
		x.record(cinetpayWaiting, Fail, fmt.Sprintf("%s, and no call to POST /v2/payment/check followed the ACCEPTED one within %s", what, x.window),
			"WAITING_FOR_CUSTOMER is not final: when the next notification comes, verify it (POST /v2/payment/check) and deliver if it says ACCEPTED", ids)
		return nil
	}
	x.record(cinetpayWaiting, Pass, what+", and the ACCEPTED one was verified", "", ids)
	return nil
}

// cinetpayThird sends the 3rd payment, while it is pending, a notification
// with a forged x-token (the attack: a refused payment passed off as
// paid), then its real REFUSED notification.
func (x *exec) cinetpayThird() error {
	forgedReady, refusedReady := x.ready(cinetpayForged), x.ready(cinetpayRefused)
	if !forgedReady && !refusedReady {
		return nil
	}
	p, why, err := x.take(2, x.deps.gateways.CinetPay, "")
	if err != nil {
		return err
	}
	if why != "" {
		for name, ready := range map[string]bool{cinetpayForged: forgedReady, cinetpayRefused: refusedReady} {
			if ready {
				x.record(name, Skip, why, "", nil)
			}
		}
		return nil
	}
	var forged forgery
	if forgedReady {
		if forged, err = x.cinetpayForge(p); err != nil {
			return err
		}
	}
	if refusedReady {
		if err := x.cinetpayRefused(p); err != nil {
			return err
		}
	}
	if forgedReady {
		x.judgeForged(forged, p)
	}
	return nil
}

// cinetpayRefused sends payment p its REFUSED notification.
func (x *exec) cinetpayRefused(p payment) error {
	if p.status == cinetpayAccepted {
		x.record(cinetpayRefused, Skip, fmt.Sprintf("no payment for it: transaction %s is already ACCEPTED, and the check needs one that is pending or REFUSED", p.ref), "", nil)
		return nil
	}
	id, err := x.deps.gateways.CinetPay.Complete(x.ctx, x.run.MerchantID, p.ref, cinetpayRefusedS, x.delivery(payloads.Variant{}))
	if err != nil {
		return err
	}
	a, err := x.deliver(id)
	if err != nil {
		return err
	}
	x.judgeAcknowledged(cinetpayRefused, p, a, fmt.Sprintf("REFUSED notification of transaction %s", p.ref), id)
	return nil
}

// lastVerification is when the merchant last called the verification API
// about payment ref (zero: never).
func (x *exec) lastVerification(ref string) (time.Time, error) {
	calls, err := x.deps.gateways.CinetPay.Verifications(x.ctx, x.run.MerchantID, ref)
	if err != nil || len(calls) == 0 {
		return time.Time{}, err
	}
	return calls[len(calls)-1], nil
}

// verifiedAfter waits up to the run's window for a call to the
// verification API about payment ref later than mark, and returns it.
func (x *exec) verifiedAfter(ref string, mark time.Time) (time.Time, bool, error) {
	deadline := time.Now().Add(x.window)
	for {
		calls, err := x.deps.gateways.CinetPay.Verifications(x.ctx, x.run.MerchantID, ref)
		if err != nil {
			return time.Time{}, false, err
		}
		for _, at := range calls {
			if at.After(mark) {
				return at, true, nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, false, nil
		}
		if err := sleep(x.ctx, pollEvery); err != nil {
			return time.Time{}, false, err
		}
	}
}
