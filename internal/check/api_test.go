package check_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	simapp "github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

func TestStartRefusesBadInput(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	url := "http://127.0.0.1:1/qris"
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown provider", map[string]any{"provider": "paypal", "url": url}, "provider"},
		{"no url", map[string]any{"provider": "qris"}, "url"},
		{"relative url", map[string]any{"provider": "qris", "url": "/qris"}, "url"},
		{"unknown merchant", map[string]any{"provider": "qris", "url": url, "merchant_id": "nobody"}, "merchant_id"},
		{"merchant without that gateway", map[string]any{"provider": "cinetpay", "url": url, "merchant_id": "plain"}, "merchant_id"},
		{"an order the app never created", map[string]any{"provider": "qris", "url": url, "orders": []string{"NOPE-1"}}, "orders[0]"},
		{"an empty order", map[string]any{"provider": "centili", "url": url, "orders": []string{"R1", ""}}, "orders[1]"},
		{"too many orders", map[string]any{"provider": "centili", "url": url, "orders": make([]string, 11)}, "orders"},
		{"a check of another gateway", map[string]any{"provider": "qris", "url": url, "only": []string{"centili.parameter_order"}}, "only[0]"},
		{"a bad window", map[string]any{"provider": "cinetpay", "url": url, "verify_window": "2h"}, "verify_window"},
		{"orders of the wrong type", map[string]any{"provider": "qris", "url": url, "orders": "O-1"}, "orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.With(t).Admin(http.MethodPost, "/v1/checks", tt.body).WantError(t, http.StatusBadRequest, tt.field)
		})
	}
	sim.Do(http.MethodPost, "/v1/checks", map[string]any{"provider": "qris", "url": url}).WantError(t, http.StatusUnauthorized, "")
	sim.Do(http.MethodGet, "/v1/checks", nil).WantError(t, http.StatusUnauthorized, "")
	sim.Admin(http.MethodGet, "/v1/checks/chk_nope", nil).WantError(t, http.StatusNotFound, "")
	sim.Admin(http.MethodGet, "/v1/checks?limit=0", nil).WantError(t, http.StatusBadRequest, "limit")
	sim.Admin(http.MethodPost, "/v1/checks", "not json").WantError(t, http.StatusBadRequest, "")
}

// Every check is a delivery recorded like any other callback: tagged with
// the run, never retried, the forged one marked as such.
func TestChecksAreRecordedCallbacks(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	a := newApp(t, sim.URL, bugs{answer201: true})
	run := runCheck(t, sim, map[string]any{"provider": "qris", "url": a.URL + "/qris"})
	res := result(t, run, "qris.success_acknowledged")
	if len(res.CallbackIDs) != 1 || res.Rule == "" || res.Source == "" || res.Hint == "" {
		t.Fatalf("result %+v: want one callback, a rule, a source and a hint", res)
	}
	cb := sim.Callback(res.CallbackIDs[0])
	if cb.CheckID != run.ID || !cb.NoRetry || cb.Status != store.StatusFailed || len(cb.Attempts) != 1 || cb.NextAttemptAt != nil {
		t.Errorf("callback %s: check %q, no_retry %v, status %s, %d attempts, next %v; want the run's, failed after one attempt, no retry",
			cb.ID, cb.CheckID, cb.NoRetry, cb.Status, len(cb.Attempts), cb.NextAttemptAt)
	}
	if cb.URL != a.URL+"/qris" || cb.Provider != "qris" {
		t.Errorf("callback went to %s %s", cb.Provider, cb.URL)
	}

	ok := newApp(t, sim.URL, bugs{})
	run = runCheck(t, sim, map[string]any{"provider": "qris", "url": ok.URL + "/qris"})
	forged := sim.Callback(result(t, run, "qris.forged_signature_rejected").CallbackIDs[0])
	if forged.Variant != (payloads.Variant{Forged: true}) || forged.Status != store.StatusFailed {
		t.Errorf("forged callback: variant %+v, status %s", forged.Variant, forged.Status)
	}
	att := forged.Attempts[0]
	if payloads.VerifyBodySignature(qrisSecret, []byte(att.Request.Body), att.Request.Headers.Get(payloads.SignatureHeader)) {
		t.Error("the forged callback's recorded signature verifies")
	}
	dup := sim.Callback(result(t, run, "qris.duplicate_acknowledged").CallbackIDs[0])
	if len(dup.Attempts) != 2 || dup.Attempts[1].Kind != store.Duplicate || dup.Attempts[1].Request.Body != dup.Attempts[0].Request.Body {
		t.Errorf("the duplicate is not a second, identical attempt of the callback: %+v", dup.Attempts)
	}
	// The listing shows the newest run first.
	var list struct{ Checks []check.Run }
	sim.Admin(http.MethodGet, "/v1/checks?limit=2", nil).JSON(t, &list)
	if len(list.Checks) != 2 || list.Checks[0].ID != run.ID || list.Checks[0].Status != check.Passed {
		t.Errorf("GET /v1/checks = %+v, want the passed run first", list.Checks)
	}
}

func TestSkipReasons(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	a := newApp(t, sim.URL, bugs{})

	t.Run("an unsigned merchant", func(t *testing.T) {
		plain := newApp(t, sim.URL, bugs{})
		plain.qrisSecret = ""
		run := runCheck(t, sim.With(t), map[string]any{"provider": "qris", "url": plain.URL + "/qris", "merchant_id": "plain"})
		wantVerdicts(t, run, nil, nil)
		if res := result(t, run, "qris.forged_signature_rejected"); res.Status != check.Skip || !strings.Contains(res.Detail, "signing_secret") {
			t.Errorf("forged check on an unsigned merchant: %s %s", res.Status, res.Detail)
		}
	})
	t.Run("fewer payments than checks", func(t *testing.T) {
		refs := createPayments(t, sim.With(t), a, "cinetpay", 1)
		run := runCheck(t, sim.With(t), map[string]any{"provider": "cinetpay", "url": a.URL + "/cinetpay", "orders": refs})
		wantVerdicts(t, run, nil, nil)
		for _, name := range []string{"cinetpay.waiting_then_final", "cinetpay.refused_acknowledged", "cinetpay.forged_token_not_trusted"} {
			if res := result(t, run, name); res.Status != check.Skip || !strings.Contains(res.Detail, "--transaction") {
				t.Errorf("%s with one transaction: %s %s", name, res.Status, res.Detail)
			}
		}
		// A second run on the same, now accepted, transaction resends its
		// notification.
		again := runCheck(t, sim.With(t), map[string]any{"provider": "cinetpay", "url": a.URL + "/cinetpay", "orders": refs,
			"only": []string{"cinetpay.repeat_acknowledged"}})
		wantVerdicts(t, again, nil, nil)
		if want := []string{"cinetpay.notification_acknowledged", "cinetpay.repeat_acknowledged"}; strings.Join(again.Checks, ",") != strings.Join(want, ",") {
			t.Errorf("--only repeat_acknowledged ran %v, want it and what it needs: %v", again.Checks, want)
		}
	})
	t.Run("an order in the wrong state", func(t *testing.T) {
		refs := createPayments(t, sim.With(t), a, "qris", 1)
		r := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": refs[0], "status": "FAILED"},
			"Authorization", "Bearer demo-qris-token")
		if r.Status != http.StatusAccepted {
			t.Fatalf("simulate: %d %s", r.Status, r.Body)
		}
		run := runCheck(t, sim.With(t), map[string]any{"provider": "qris", "url": a.URL + "/qris", "orders": refs})
		if res := result(t, run, "qris.success_acknowledged"); res.Status != check.Skip || !strings.Contains(res.Detail, "already FAILED") {
			t.Errorf("success check on a FAILED order: %s %s", res.Status, res.Detail)
		}
		if run.Status != check.Passed {
			t.Errorf("a run that skipped everything: %s", run.Status)
		}
	})
}

// A run whose simulator stops ends failed, saying why.
func TestShutdownEndsARunFailed(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := testConfig(r)
	roles := simapp.Roles{API: true, Worker: true}
	first, err := simapp.New(cfg, roles, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	api := "http://" + first.Addr()
	admin := func(method, path string, body any) simtest.Response {
		return simtest.Do(t, method, api+path, body, "Authorization", "Bearer "+simtest.AdminToken)
	}

	a := newApp(t, api, bugs{noVerify: true})
	var started struct{ ID string }
	admin(http.MethodPost, "/v1/checks", map[string]any{"provider": "cinetpay", "url": a.URL + "/cinetpay", "verify_window": "1m"}).JSON(t, &started)
	simtest.Eventually(t, 10*time.Second, func() bool {
		var run check.Run
		admin(http.MethodGet, "/v1/checks/"+started.ID, nil).JSON(t, &run)
		return run.Current == "cinetpay.status_verified"
	}, func() string { return "the run to wait for a verification" })
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	sim := simtest.StartConfig(t, cfg, roles, r) // another process on the same Redis
	var run check.Run
	sim.Admin(http.MethodGet, "/v1/checks/"+started.ID, nil).JSON(t, &run)
	if run.Status != check.Failed || !strings.Contains(run.Error, "shut down") || run.FinishedAt == nil {
		t.Errorf("after a shutdown, run %s is %s (%q)", run.ID, run.Status, run.Error)
	}
}

func result(t *testing.T, run check.Run, name string) check.Result {
	t.Helper()
	for _, r := range run.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("run %s has no result %s:\n%s", run.ID, name, describe(run))
	return check.Result{}
}
