package check_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	simapp "github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/payloads"
)

// qrisTimeout is providers.qris.timeout in these tests.
const qrisTimeout = time.Second

// startSim runs a simulator whose demo merchant signs its QRIS callbacks,
// with a second merchant, "plain", that does not.
func startSim(t *testing.T) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	return simtest.StartConfig(t, testConfig(r), simapp.Roles{API: true, Worker: true}, r)
}

func testConfig(r *redistest.Server) config.Config {
	cfg := simtest.Config(r.URL())
	cfg.Providers.QRIS.Timeout = qrisTimeout
	cfg.Merchants[0].QRIS.SigningSecret = qrisSecret
	cfg.Merchants = append(cfg.Merchants, config.Merchant{ID: "plain",
		QRIS: &config.QRISMerchant{Token: "plain-token", Signing: payloads.QRISSigningHMAC}})
	return cfg
}

// runCheck starts a run through the operator API and waits for its end.
func runCheck(t *testing.T, sim *simtest.Sim, req map[string]any) check.Run {
	t.Helper()
	if _, ok := req["verify_window"]; !ok {
		req["verify_window"] = "500ms" // a failing cinetpay.status_verified waits this long
	}
	r := sim.Admin(http.MethodPost, "/v1/checks", req)
	if r.Status != http.StatusAccepted {
		t.Fatalf("POST /v1/checks: %d %s", r.Status, r.Body)
	}
	var started struct{ ID string }
	r.JSON(t, &started)
	if !strings.HasPrefix(started.ID, "chk_") || r.Header.Get("Location") != "/v1/checks/"+started.ID {
		t.Fatalf("POST /v1/checks answered id %q, Location %q", started.ID, r.Header.Get("Location"))
	}
	var run check.Run
	simtest.Eventually(t, 60*time.Second, func() bool {
		got := sim.Admin(http.MethodGet, "/v1/checks/"+started.ID, nil)
		if got.Status != http.StatusOK {
			t.Fatalf("GET /v1/checks/%s: %d %s", started.ID, got.Status, got.Body)
		}
		run = check.Run{} // a field the answer leaves out must not keep an older value
		got.JSON(t, &run)
		return run.Status != check.Running
	}, func() string { return "run " + started.ID + " to finish" })
	return run
}

// verdicts are a run's checks by verdict.
func verdicts(run check.Run) map[check.Status][]string {
	out := map[check.Status][]string{}
	for _, res := range run.Results {
		out[res.Status] = append(out[res.Status], res.Name)
	}
	return out
}

// wantVerdicts fails the test unless exactly the checks fail fails and
// exactly those of warn warn, and every check of the run has a verdict.
func wantVerdicts(t *testing.T, run check.Run, fail, warn []string) {
	t.Helper()
	got := verdicts(run)
	if run.Error != "" {
		t.Errorf("the run could not finish: %s", run.Error)
	}
	if !slices.Equal(sorted(got[check.Fail]), sorted(fail)) || !slices.Equal(sorted(got[check.Warn]), sorted(warn)) {
		t.Errorf("failed %v and warned %v, want failed %v and warned %v\n%s", got[check.Fail], got[check.Warn], fail, warn, describe(run))
	}
	if len(run.Results) != len(run.Checks) {
		t.Errorf("%d results for the %d checks %v", len(run.Results), len(run.Checks), run.Checks)
	}
	wantStatus := check.Passed
	if len(fail) > 0 {
		wantStatus = check.Failed
	}
	if run.Status != wantStatus || run.FinishedAt == nil {
		t.Errorf("run status %s (finished %v), want %s", run.Status, run.FinishedAt, wantStatus)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func describe(run check.Run) string {
	var b strings.Builder
	for _, r := range run.Results {
		fmt.Fprintf(&b, "  %-4s %s: %s [%s] %v\n", r.Status, r.Name, r.Detail, r.Hint, r.CallbackIDs)
	}
	return b.String()
}

// plant is one bug and what the suite must say of it.
type plant struct {
	name       string
	bugs       bugs
	own        bool // run on payments the app created
	fail, warn []string
}

// runPlants runs provider's suite against an app with each bug planted.
func runPlants(t *testing.T, provider string, refs int, plants []plant) {
	sim := startSim(t)
	for _, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			a := newApp(t, sim.URL, p.bugs)
			req := map[string]any{"provider": provider, "url": a.URL + "/" + provider}
			if p.own {
				req["orders"] = createPayments(t, sim.With(t), a, provider, refs)
			}
			run := runCheck(t, sim.With(t), req)
			wantVerdicts(t, run, p.fail, p.warn)
		})
	}
}

// createPayments creates n payments through the gateway's API, as the
// app would, and returns their references.
func createPayments(t *testing.T, sim *simtest.Sim, a *app, provider string, n int) []string {
	t.Helper()
	var refs []string
	for i := range n {
		ref := fmt.Sprintf("APP-%d-%d", time.Now().UnixNano(), i)
		switch provider {
		case config.QRIS:
			r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
				"amount": 50000, "order_id": ref, "callback_url": a.URL + "/qris",
			}, "Authorization", "Bearer demo-qris-token")
			if r.Status != http.StatusCreated {
				t.Fatalf("initiate: %d %s", r.Status, r.Body)
			}
		case config.CinetPay:
			r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
				"apikey": cinetpayAPIKey, "site_id": cinetpaySite, "transaction_id": ref, "amount": 100,
				"currency": "XOF", "description": "app order", "notify_url": a.URL + "/cinetpay", "return_url": a.URL,
			})
			if r.Status != http.StatusOK {
				t.Fatalf("initialise: %d %s", r.Status, r.Body)
			}
		}
		refs = append(refs, ref)
	}
	a.created(refs...)
	return refs
}

func TestQRISSuite(t *testing.T) {
	t.Parallel()
	runPlants(t, config.QRIS, 2, []plant{
		{name: "a correct handler passes"},
		{name: "a handler that looks up its orders passes on them", bugs: bugs{lookup: true}, own: true},
		{name: "404 to an order the app never made", bugs: bugs{lookup: true}, fail: []string{"qris.success_acknowledged"}},
		{name: "201", bugs: bugs{answer201: true}, fail: []string{"qris.success_acknowledged"}},
		{name: "FAILED refused", bugs: bugs{refuseFailed: true}, fail: []string{"qris.failed_acknowledged"}},
		{name: "not idempotent", bugs: bugs{notIdempotent: true}, fail: []string{"qris.duplicate_acknowledged"}},
		{name: "forged signature accepted", bugs: bugs{acceptForged: true}, fail: []string{"qris.forged_signature_rejected"}},
		{name: "redirect", bugs: bugs{redirect: true}, fail: []string{"qris.no_redirect"}},
		{name: "slower than the timeout", bugs: bugs{slow: qrisTimeout + 300*time.Millisecond}, fail: []string{"qris.answers_in_time"}},
		{name: "slower than a fifth of it", bugs: bugs{slow: qrisTimeout/5 + 100*time.Millisecond}, warn: []string{"qris.answers_in_time"}},
	})
}

func TestCinetPaySuite(t *testing.T) {
	t.Parallel()
	runPlants(t, config.CinetPay, 3, []plant{
		{name: "a correct handler passes"},
		{name: "a handler that looks up its transactions passes on them", bugs: bugs{lookup: true}, own: true},
		{name: "404 to a transaction the app never made", bugs: bugs{lookup: true}, fail: []string{"cinetpay.notification_acknowledged"}},
		{name: "POST-only route", bugs: bugs{postOnly: true}, fail: []string{"cinetpay.ping_answered"}},
		{name: "201", bugs: bugs{answer201: true}, fail: []string{"cinetpay.notification_acknowledged"}},
		{name: "never verifies", bugs: bugs{noVerify: true}, fail: []string{"cinetpay.status_verified"}},
		{name: "not idempotent", bugs: bugs{notIdempotent: true}, fail: []string{"cinetpay.repeat_acknowledged"}},
		{name: "WAITING_FOR_CUSTOMER taken as final", bugs: bugs{waitingFinal: true}, fail: []string{"cinetpay.waiting_then_final"}},
		{name: "forged x-token trusted", bugs: bugs{acceptForged: true}, fail: []string{"cinetpay.forged_token_not_trusted"}},
		{name: "REFUSED refused", bugs: bugs{refuseFailed: true}, fail: []string{"cinetpay.refused_acknowledged"}},
	})
}

func TestCentiliSuite(t *testing.T) {
	t.Parallel()
	runPlants(t, config.Centili, 3, []plant{
		{name: "a correct handler passes"},
		{name: "a handler that looks up its references passes on them", bugs: bugs{lookup: true}, own: true},
		{name: "404 to a reference the app never made", bugs: bugs{lookup: true}, fail: []string{"centili.notification_acknowledged"}},
		{name: "201", bugs: bugs{answer201: true}, fail: []string{"centili.notification_acknowledged"}},
		{name: "parameters not sorted", bugs: bugs{noSort: true}, fail: []string{"centili.parameter_order"}},
		{name: "forged sign accepted", bugs: bugs{acceptForged: true}, fail: []string{"centili.forged_sign_rejected"}},
		{name: "bad sign refused with 401", bugs: bugs{sign401: true}, warn: []string{"centili.forged_sign_rejected"}},
		{name: "not idempotent", bugs: bugs{notIdempotent: true}, fail: []string{"centili.duplicate_acknowledged"}},
		{name: "failed refused", bugs: bugs{refuseFailed: true}, fail: []string{"centili.failed_acknowledged"}},
		{name: "one-off payments only", bugs: bugs{oneOffOnly: true}, fail: []string{"centili.subscription_events"}},
	})
}
