//go:build unix

// Package examples_test starts every example merchant app of this folder
// against a simulator and checks, from the simulator's records and from the
// apps' own answers, that each handles the three gateways' callbacks as
// their documentation requires. Each check is one subtest, named
// TestExamples/<stack>/<check>.
package examples_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/payloads"
)

// stacksEnv, when set, lists the example folders to test (comma-separated)
// instead of the four of this folder: TestBrokenExampleFails runs the
// suite on a broken copy through it.
const stacksEnv = "CALLBACKSIM_EXAMPLES"

func stacks() []string {
	if v := os.Getenv(stacksEnv); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"go", "node", "php", "python"}
}

// check is one rule an example must follow, tested on a running harness.
type check struct {
	name string
	run  func(t *testing.T, h *harness)
}

// suite is every check, in the order they run against one example.
var suite = []check{
	{"qris_success_duplicate", qrisSuccessDuplicate},
	{"qris_failed", qrisFailed},
	{"qris_unsigned_forgery_ignored", qrisUnsignedForgeryIgnored},
	{"qris_signed", qrisSigned},
	{"qris_forged_signature_refused", qrisForgedSignatureRefused},
	{"qris_unknown_order_acknowledged", qrisUnknownOrderAcknowledged},
	{"cinetpay_ping_answered", cinetpayPingAnswered},
	{"cinetpay_waiting_then_accepted", cinetpayWaitingThenAccepted},
	{"cinetpay_refused", cinetpayRefused},
	{"cinetpay_status_from_check", cinetpayStatusFromCheck},
	{"cinetpay_forged_token_refused", cinetpayForgedTokenRefused},
	{"cinetpay_unknown_transaction_acknowledged", cinetpayUnknownTransactionAcknowledged},
	{"centili_success_repeated", centiliSuccessRepeated},
	{"centili_failed_then_retried", centiliFailedThenRetried},
	{"centili_parameter_order", centiliParameterOrder},
	{"centili_forged_sign_rejected", centiliForgedSignRejected},
	{"centili_unknown_reference_acknowledged", centiliUnknownReferenceAcknowledged},
	{"centili_subscription", centiliSubscription},
	{"centili_sha256", centiliSHA256},
	{"centili_payment_page", centiliPaymentPage},
	// callbacksim check on the app's own orders: app b's signed QRIS
	// merchant (so that the forged signature check runs), app a's CinetPay,
	// app b's SHA256 Centili service.
	{"qris_handler_checks", handlerChecks("qris", "signed", 2, func(h *harness) *merchantApp { return h.b })},
	{"cinetpay_handler_checks", handlerChecks("cinetpay", demo.ID, 3, func(h *harness) *merchantApp { return h.a })},
	{"centili_handler_checks", handlerChecks("centili", "signed", 3, func(h *harness) *merchantApp { return h.b })},
}

func TestExamples(t *testing.T) {
	for _, dir := range stacks() {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			h := startHarness(t, dir)
			for _, c := range suite {
				t.Run(c.name, func(t *testing.T) { c.run(t, h) })
			}
		})
	}
}

// failLine is go test -v's line for a failed check of TestExamples.
var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: TestExamples/[^/\s]+/(\S+)`)

// TestBrokenExampleFails runs the suite on a copy of the Python example
// that concatenates Centili's values in the order received instead of
// sorting them by name, and requires that the Centili checks catch it and
// nothing else fails.
func TestBrokenExampleFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "python-unsorted")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app.py", "run"} {
		src, err := os.ReadFile(filepath.Join("python", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "app.py" {
			const sorted, unsorted = `for name in sorted(args) if`, `for name in args if`
			if strings.Count(string(src), sorted) != 1 {
				t.Fatalf("python/app.py no longer has %q once: update the breakage this test plants", sorted)
			}
			src = []byte(strings.Replace(string(src), sorted, unsorted, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExamples$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), stacksEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed the broken example:\n%s", out)
	}
	var failed []string
	for _, m := range failLine.FindAllStringSubmatch(string(out), -1) {
		failed = append(failed, m[1])
	}
	for _, want := range []string{"centili_parameter_order", "centili_handler_checks"} {
		if !slices.Contains(failed, want) {
			t.Errorf("%s did not fail; failed: %v\n%s", want, failed, out)
		}
	}
	for _, name := range failed {
		if !strings.HasPrefix(name, "centili_") {
			t.Errorf("%s failed: only Centili checks may fail for a missing sort\n%s", name, out)
		}
	}
	if !strings.Contains(string(out), "--- PASS: TestExamples/python-unsorted/cinetpay_waiting_then_accepted") {
		t.Errorf("the other checks did not run and pass:\n%s", out)
	}
}

func randomID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// qrisBearer is the Authorization header pair of a QRIS merchant.
func qrisBearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// qrisTransaction returns the gateway's record of a QRIS order.
func (h *harness) qrisTransaction(t *testing.T, token, orderID string) payloads.QRISCallback {
	t.Helper()
	r := h.sim.With(t).Do(http.MethodGet, "/api/qris/transactions/"+url.PathEscape(orderID), nil, qrisBearer(token)...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/qris/transactions/%s: %d %s", orderID, r.Status, r.Body)
	}
	var txn payloads.QRISCallback
	r.JSON(t, &txn)
	return txn
}

func (h *harness) simulateQRIS(t *testing.T, token, orderID, status string, duplicates int) string {
	t.Helper()
	return h.simulate(t, "/api/qris/simulate", map[string]any{
		"order_id": orderID, "status": status, "scenario": map[string]int{"duplicates": duplicates},
	}, qrisBearer(token)...)
}

// A SUCCESS callback, and a copy of it, are answered 200; the order is
// paid and fulfilled once; without a signing secret the app confirmed the
// payment with the gateway's transaction API.
func qrisSuccessDuplicate(t *testing.T, h *harness) {
	id := h.a.order(t, "qris")
	if txn := h.qrisTransaction(t, demo.QRIS.Token, id); txn.Status != "PENDING" {
		t.Fatalf("the app's QRIS payment is %s at the gateway, want PENDING", txn.Status)
	}
	h.delivered(t, h.simulateQRIS(t, demo.QRIS.Token, id, "SUCCESS", 1), 2)
	h.a.wantStatus(t, id, "paid")
	h.a.wantFulfilled(t, id, 1)
	if h.gw.count(http.MethodGet, "/api/qris/transactions/"+id, "") == 0 {
		t.Errorf("the app trusted an unsigned callback without asking GET /api/qris/transactions/%s", id)
	}
}

func qrisFailed(t *testing.T, h *harness) {
	id := h.a.order(t, "qris")
	h.delivered(t, h.simulateQRIS(t, demo.QRIS.Token, id, "FAILED", 0), 1)
	h.a.wantStatus(t, id, "failed")
	if n := h.a.fulfilments(id); n != 0 {
		t.Errorf("a failed order was fulfilled %d times", n)
	}
}

// Anyone can post an unsigned callback: one claiming SUCCESS for a payment
// the gateway still has pending must not pay the order.
func qrisUnsignedForgeryIgnored(t *testing.T, h *harness) {
	id := h.a.order(t, "qris")
	txn := h.qrisTransaction(t, demo.QRIS.Token, id)
	txn.Status = "SUCCESS"
	r := simtest.Do(t, http.MethodPost, h.a.URL+"/qris", txn)
	if r.Status >= 500 {
		t.Errorf("forged callback answered %d %s", r.Status, r.Body)
	}
	h.a.wantStatus(t, id, "pending")
}

// With a signing secret, a signed callback is verified and accepted.
func qrisSigned(t *testing.T, h *harness) {
	id := h.b.order(t, "qris")
	cb := h.delivered(t, h.simulateQRIS(t, signedQRISToken, id, "SUCCESS", 0), 1)
	if cb.Attempts[0].Request.Headers.Get(payloads.SignatureHeader) == "" {
		t.Errorf("the callback was not signed: %v", cb.Attempts[0].Request.Headers)
	}
	h.b.wantStatus(t, id, "paid")
	h.b.wantFulfilled(t, id, 1)
}

// A callback signed with another key is refused, and the order's genuine
// callback still pays it.
func qrisForgedSignatureRefused(t *testing.T, h *harness) {
	id := h.b.order(t, "qris")
	r := h.sim.With(t).Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": id, "callback_url": h.b.URL + "/qris",
	}, qrisBearer(forgerQRISToken)...)
	if r.Status != http.StatusCreated {
		t.Fatalf("forger's initiate: %d %s", r.Status, r.Body)
	}
	at := h.firstAnswer(t, h.simulateQRIS(t, forgerQRISToken, id, "SUCCESS", 0))
	if at.Response == nil || at.Response.Status < 300 {
		t.Errorf("a callback with a wrong X-Callback-Signature was answered %v, want a 4xx", at.Response)
	}
	h.b.wantStatus(t, id, "pending")
	h.delivered(t, h.simulateQRIS(t, signedQRISToken, id, "SUCCESS", 0), 1)
	h.b.wantStatus(t, id, "paid")
}

// A callback for an order the shop never made is acknowledged: a 404 would
// only be retried.
func qrisUnknownOrderAcknowledged(t *testing.T, h *harness) {
	id := randomID("ELSEWHERE-")
	r := h.sim.With(t).Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": id, "callback_url": h.a.URL + "/qris",
	}, qrisBearer(demo.QRIS.Token)...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	h.delivered(t, h.simulateQRIS(t, demo.QRIS.Token, id, "SUCCESS", 0), 1)
}

// cinetpayAuth is the demo merchant's credentials, as CinetPay's API takes
// them.
func cinetpayAuth(fields map[string]any) map[string]any {
	fields["apikey"], fields["site_id"] = demo.CinetPay.APIKey, demo.CinetPay.SiteID
	return fields
}

func (h *harness) simulateCinetPay(t *testing.T, id, status string, duplicates int) string {
	t.Helper()
	return h.simulate(t, "/v2/simulate", cinetpayAuth(map[string]any{
		"transaction_id": id, "status": status, "scenario": map[string]int{"duplicates": duplicates},
	}))
}

func cinetpayPingAnswered(t *testing.T, h *harness) {
	if r := simtest.Do(t, http.MethodGet, h.a.URL+"/cinetpay", nil); r.Status != http.StatusOK {
		t.Errorf("GET /cinetpay answered %d, want 200: CinetPay pings notify_url with a GET", r.Status)
	}
}

// WAITING_FOR_CUSTOMER leaves the order pending; the ACCEPTED that follows,
// and a copy of it, pay it once. Each notification is verified with
// /v2/payment/check.
func cinetpayWaitingThenAccepted(t *testing.T, h *harness) {
	id := h.a.order(t, "cinetpay")
	r := h.sim.With(t).Do(http.MethodPost, "/v2/payment/check", cinetpayAuth(map[string]any{"transaction_id": id}))
	if r.Status != http.StatusOK {
		t.Fatalf("the app's CinetPay payment is not at the gateway: %d %s", r.Status, r.Body)
	}
	cb := h.delivered(t, h.simulateCinetPay(t, id, "WAITING_FOR_CUSTOMER", 0), 1)
	if ping := cb.Attempts[0].Ping; ping == nil || ping.Response == nil || ping.Response.Status != http.StatusOK {
		t.Errorf("CinetPay's GET ping was not answered 200: %+v", ping)
	}
	h.gw.wantChecks(t, id, 1)
	h.a.wantStatus(t, id, "pending")

	h.delivered(t, h.simulateCinetPay(t, id, "ACCEPTED", 1), 2)
	h.gw.wantChecks(t, id, 2)
	h.a.wantStatus(t, id, "paid")
	h.a.wantFulfilled(t, id, 1)
}

func cinetpayRefused(t *testing.T, h *harness) {
	id := h.a.order(t, "cinetpay")
	h.delivered(t, h.simulateCinetPay(t, id, "REFUSED", 0), 1)
	h.gw.wantChecks(t, id, 1)
	h.a.wantStatus(t, id, "failed")
}

// notification is a CinetPay notification of transaction id claiming
// success, as the gateway would form it.
func notification(id string) payloads.CinetPayFields {
	return payloads.CinetPayFields{
		SiteID: demo.CinetPay.SiteID, TransID: id, TransDate: "2024-01-15 10:30:00", Amount: "100",
		Currency: "XOF", Signature: "abc", PaymentMethod: "OM", CelPhoneNum: "0700000000",
		PhonePrefixe: "225", Language: "fr", Version: "V4", PaymentConfig: "SINGLE",
		PageAction: "PAYMENT", Designation: "Order " + id, ErrorMessage: "SUCCES",
	}
}

func postNotification(t *testing.T, a *merchantApp, f payloads.CinetPayFields, xToken string) simtest.Response {
	t.Helper()
	return simtest.Do(t, http.MethodPost, a.URL+"/cinetpay", f.Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "x-token", xToken)
}

// A notification with a valid x-token that says SUCCES, for a payment the
// gateway still has pending: the app must ask /v2/payment/check and keep
// the order pending.
func cinetpayStatusFromCheck(t *testing.T, h *harness) {
	id := h.a.order(t, "cinetpay")
	f := notification(id)
	if r := postNotification(t, h.a, f, f.XToken(demo.CinetPay.SecretKey)); r.Status != http.StatusOK {
		t.Errorf("an authentic notification was answered %d %s, want 200", r.Status, r.Body)
	}
	h.gw.wantChecks(t, id, 1)
	h.a.wantStatus(t, id, "pending")
}

func cinetpayForgedTokenRefused(t *testing.T, h *harness) {
	id := h.a.order(t, "cinetpay")
	f := notification(id)
	if r := postNotification(t, h.a, f, f.XToken("not-"+demo.CinetPay.SecretKey)); r.Status < 300 {
		t.Errorf("a notification with a wrong x-token was answered %d, want a 4xx", r.Status)
	}
	h.a.wantStatus(t, id, "pending")
}

func cinetpayUnknownTransactionAcknowledged(t *testing.T, h *harness) {
	id := randomID("ELSEWHERE-")
	r := h.sim.With(t).Do(http.MethodPost, "/v2/payment", cinetpayAuth(map[string]any{
		"transaction_id": id, "amount": 100, "currency": "XOF", "description": "not the shop's",
		"notify_url": h.a.URL + "/cinetpay", "return_url": h.a.URL + "/",
	}))
	if r.Status != http.StatusOK {
		t.Fatalf("initialise: %d %s", r.Status, r.Body)
	}
	h.delivered(t, h.simulateCinetPay(t, id, "ACCEPTED", 0), 1)
}

func (h *harness) simulateCentili(t *testing.T, fields map[string]any) string {
	t.Helper()
	if _, ok := fields["service"]; !ok {
		fields["service"] = demo.Centili.Service
	}
	return h.simulate(t, "/centili/simulate", fields)
}

// A success notification, a copy of it, and the same transaction notified
// again (a new callback, as a resend from Centili's panel is) are all
// answered 200 and pay the order once: the app de-duplicates on
// transactionid.
func centiliSuccessRepeated(t *testing.T, h *harness) {
	id := h.a.order(t, "centili")
	txn := randomID("")
	for _, duplicates := range []int{1, 0} {
		h.delivered(t, h.simulateCentili(t, map[string]any{
			"status": "success", "reference": id, "transactionid": txn,
			"scenario": map[string]int{"duplicates": duplicates},
		}), 1+duplicates)
	}
	h.a.wantStatus(t, id, "paid")
	h.a.wantFulfilled(t, id, 1)
}

// A failed payment fails the order; the customer's second try pays it,
// and a later failure (another transaction) does not undo that.
func centiliFailedThenRetried(t *testing.T, h *harness) {
	id := h.a.order(t, "centili")
	for _, step := range []struct{ status, want string }{{"failed", "failed"}, {"success", "paid"}, {"canceled", "paid"}} {
		h.delivered(t, h.simulateCentili(t, map[string]any{"status": step.status, "reference": id}), 1)
		h.a.wantStatus(t, id, step.want)
	}
	h.a.wantFulfilled(t, id, 1)
}

// centiliTableOrder is the order of Centili's parameter table, which is
// how Centili sends them: not sorted.
var centiliTableOrder = []string{
	"transactionid", "phone", "userid", "country", "mno", "mnocode", "amount", "status",
	"revenue", "revenuecurrency", "reference", "enduserprice", "service", "event_type",
}

// A validly signed notification whose parameters come in Centili's table
// order is accepted: the app sorts them by name before checking sign.
func centiliParameterOrder(t *testing.T, h *harness) {
	id := h.a.order(t, "centili")
	params := url.Values{
		"transactionid": {randomID("")}, "phone": {"4366124567"}, "userid": {"4366124567"},
		"country": {"FR"}, "mno": {"20801"}, "mnocode": {"FR_ORANGE"}, "amount": {"5"},
		"status": {"success"}, "revenue": {"3.0567"}, "revenuecurrency": {"EUR"}, "reference": {id},
		"enduserprice": {"8.000"}, "service": {demo.Centili.Service}, "event_type": {"one_off"},
	}
	sign, err := payloads.CentiliSign(demo.Centili.SignatureKey, payloads.SignSHA1, params)
	if err != nil {
		t.Fatal(err)
	}
	var q strings.Builder
	for _, name := range centiliTableOrder {
		q.WriteString(name + "=" + url.QueryEscape(params.Get(name)) + "&")
	}
	q.WriteString("sign=" + sign)
	if r := simtest.Do(t, http.MethodGet, h.a.URL+"/centili?"+q.String(), nil); r.Status != http.StatusOK {
		t.Errorf("a valid notification in Centili's parameter order was answered %d %s, want 200", r.Status, r.Body)
	}
	h.a.wantStatus(t, id, "paid")
}

// A notification signed with another key is answered 406, which stops
// Centili at once.
func centiliForgedSignRejected(t *testing.T, h *harness) {
	id := h.a.order(t, "centili")
	cb := h.finished(t, h.simulateCentili(t, map[string]any{
		"service": forgerService, "status": "success", "reference": id,
	}), 1)
	if at := cb.Attempts[0]; at.Response == nil || at.Response.Status != http.StatusNotAcceptable {
		t.Errorf("a notification with a wrong sign was answered %s, want 406", answers(cb))
	}
	h.a.wantStatus(t, id, "pending")
}

func centiliUnknownReferenceAcknowledged(t *testing.T, h *harness) {
	h.delivered(t, h.simulateCentili(t, map[string]any{"status": "success", "reference": randomID("ELSEWHERE-")}), 1)
}

// A subscription's opt_in and renewal are two charges, fulfilled once each;
// its opt_out is acknowledged and charges nothing.
func centiliSubscription(t *testing.T, h *harness) {
	id := h.a.order(t, "centili")
	r := h.sim.With(t).Do(http.MethodPost, "/centili/simulate", map[string]any{
		"service": demo.Centili.Service, "status": "success", "reference": id, "event_type": "opt_in", "interval": "WEEK",
	})
	var optIn struct {
		CallbackID     string `json:"callback_id"`
		SubscriptionID string `json:"subscriptionid"`
	}
	r.JSON(t, &optIn)
	if r.Status != http.StatusAccepted || optIn.SubscriptionID == "" {
		t.Fatalf("opt_in: %d %s", r.Status, r.Body)
	}
	h.delivered(t, optIn.CallbackID, 1)
	for _, event := range []string{"recurring_billing", "opt_out"} {
		h.delivered(t, h.simulateCentili(t, map[string]any{
			"status": "success", "event_type": event, "subscriptionid": optIn.SubscriptionID,
		}), 1)
	}
	h.a.wantStatus(t, id, "paid")
	h.a.wantFulfilled(t, id, 2)
}

// With CENTILI_SIGN_ALGORITHM=sha256, an HMAC-SHA256 sign is accepted.
func centiliSHA256(t *testing.T, h *harness) {
	id := h.b.order(t, "centili")
	h.delivered(t, h.simulateCentili(t, map[string]any{"service": sha256Service, "status": "success", "reference": id}), 1)
	h.b.wantStatus(t, id, "paid")
}

// A Centili order links to Centili's payment page with the service's API
// key (CENTILI_SERVICE) and the order id as the reference.
func centiliPaymentPage(t *testing.T, h *harness) {
	r := simtest.Do(t, http.MethodPost, h.b.URL+"/orders", map[string]string{"gateway": "centili"})
	var got struct {
		OrderID    string `json:"order_id"`
		PaymentURL string `json:"payment_url"`
	}
	r.JSON(t, &got)
	u, err := url.Parse(got.PaymentURL)
	if r.Status != http.StatusCreated || err != nil {
		t.Fatalf("POST /orders centili: %d %s", r.Status, r.Body)
	}
	q := u.Query()
	if u.Host != "api.centili.com" || u.Path != "/payment/widget" || q.Get("apikey") != sha256Service || q.Get("reference") != got.OrderID {
		t.Errorf("payment_url %s, want Centili's payment page with apikey=%s&reference=%s", got.PaymentURL, sha256Service, got.OrderID)
	}
}
