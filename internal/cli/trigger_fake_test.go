package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// fakeAPI plays the simulator's CinetPay and Centili endpoints and the
// operator API as API.md describes them, for the gateways that live on
// another branch. Each callback it hands out moves one step per poll
// through the states listed in progress.
type fakeAPI struct {
	t        *testing.T
	mu       sync.Mutex
	bodies   map[string][]map[string]any // by path
	progress map[string][]store.Callback // by callback id
	polls    map[string]int
	answers  map[string]func(body map[string]any) (int, any) // by path
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, bodies: map[string][]map[string]any{}, progress: map[string][]store.Callback{},
		polls: map[string]int{}, answers: map[string]func(map[string]any) (int, any){}}
	mux := http.NewServeMux()
	for _, path := range []string{"/v2/payment", "/v2/simulate", "/centili/simulate"} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, `{"error":"malformed JSON"}`, http.StatusBadRequest)
				return
			}
			f.mu.Lock()
			f.bodies[path] = append(f.bodies[path], body)
			answer := f.answers[path]
			f.mu.Unlock()
			code, v := answer(body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(v)
		})
	}
	mux.HandleFunc("GET /v1/callbacks", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+simtest.AdminToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"callbacks":[],"next_cursor":null}`))
	})
	mux.HandleFunc("GET /v1/callbacks/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+simtest.AdminToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or invalid admin token"}`))
			return
		}
		id := r.PathValue("id")
		f.mu.Lock()
		steps, ok := f.progress[id]
		n := f.polls[id]
		f.polls[id]++
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no callback"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(steps[min(n, len(steps)-1)])
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) sent(path string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[path]
}

// lifecycle is a callback that is pending, then failed once, then ends
// in status end with a second attempt answered code.
func lifecycle(id, provider, method string, end store.Status, code int, ping bool) []store.Callback {
	now := time.Now().UTC()
	base := store.Callback{ID: id, Provider: provider, MerchantID: "demo", Method: method, URL: "http://merchant.test/notify", CreatedAt: now}
	first := store.Attempt{N: 1, At: now, Outcome: store.OutcomeRetry, Request: store.Request{Method: method, URL: base.URL},
		Response: &store.Response{Status: 500}, Hint: "500: your handler failed; look at your application's logs for the exception"}
	outcome := store.OutcomeDelivered
	if end == store.StatusRejected {
		outcome = store.OutcomeRejected
	}
	second := store.Attempt{N: 2, At: now.Add(50 * time.Millisecond), Outcome: outcome,
		Request: store.Request{Method: method, URL: base.URL}, Response: &store.Response{Status: code}}
	if ping {
		p := &store.Exchange{Request: store.Request{Method: http.MethodGet, URL: base.URL}, Response: &store.Response{Status: 200}}
		first.Ping, second.Ping = p, p
	}
	pending := base
	pending.Status = store.StatusPending
	retrying := base
	retrying.Status, retrying.Attempts = store.StatusRetrying, []store.Attempt{first}
	done := base
	done.Status, done.Attempts = end, []store.Attempt{first, second}
	return []store.Callback{pending, retrying, done}
}

func TestTriggerCinetPayOutOfOrder(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.answers["/v2/payment"] = func(map[string]any) (int, any) {
		return http.StatusOK, map[string]any{"code": "201", "message": "CREATED", "description": "Transaction created with success",
			"data": map[string]any{"payment_token": "tok_1", "payment_url": "https://checkout.test/tok_1"}, "api_response_id": "1.2"}
	}
	f.answers["/v2/simulate"] = func(map[string]any) (int, any) {
		return http.StatusAccepted, map[string]any{"callback_id": "cb_final", "callback_ids": []string{"cb_final", "cb_wait"}}
	}
	f.progress["cb_final"] = lifecycle("cb_final", "cinetpay", http.MethodPost, store.StatusDelivered, 200, true)
	f.progress["cb_wait"] = lifecycle("cb_wait", "cinetpay", http.MethodPost, store.StatusDelivered, 200, true)
	for id, event := range map[string]string{"cb_final": "REFUSED", "cb_wait": "WAITING_FOR_CUSTOMER"} {
		for i := range f.progress[id] {
			f.progress[id][i].Event = event
		}
	}

	code, out, errOut := run(t, "trigger", "cinetpay", "--api", srv.URL, "--token", simtest.AdminToken,
		"--notify-url", "http://merchant.test/notify", "--status", "refused", "--out-of-order", "--reference", "TX-42",
		"--poll", "10ms", "--payment-method", "OM")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	init := f.sent("/v2/payment")
	if len(init) != 1 {
		t.Fatalf("%d initiations, want 1", len(init))
	}
	wantInit := map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-42", "amount": float64(100), "currency": "XOF",
		"description": "Order TX-42", "notify_url": "http://merchant.test/notify", "return_url": "http://merchant.test/",
		"channels": "ALL", "customer_name": "CLI", "customer_surname": "callbacksim",
	}
	if diff := cmp.Diff(wantInit, init[0]); diff != "" {
		t.Errorf("initiation body (-want +got):\n%s", diff)
	}
	wantSim := map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-42", "status": "REFUSED",
		"payment_method": "OM", "scenario": map[string]any{"out_of_order": true},
	}
	if diff := cmp.Diff(wantSim, f.sent("/v2/simulate")[0]); diff != "" {
		t.Errorf("simulate body (-want +got):\n%s", diff)
	}
	for _, want := range []string{"callback cb_final", "callback cb_wait", "callback cb_final carries the REFUSED notification", "callback cb_wait carries the WAITING_FOR_CUSTOMER notification",
		"cb_final REFUSED  #1", "cb_wait WAITING_FOR_CUSTOMER  #2", "ping: GET http://merchant.test/notify -> 200",
		"callback cb_final delivered after 2 attempt(s)", "callback cb_wait delivered after 2 attempt(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}

func TestTriggerCentiliRejectedExits4(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.answers["/centili/simulate"] = func(map[string]any) (int, any) {
		return http.StatusAccepted, map[string]any{"callback_id": "cb_cent"}
	}
	f.progress["cb_cent"] = lifecycle("cb_cent", "centili", http.MethodGet, store.StatusRejected, 406, false)
	code, out, errOut := run(t, "trigger", "centili", "--api", srv.URL, "--token", simtest.AdminToken,
		"--status", "FAILED", "--reference", "REF-1", "--amount", "3", "--duplicates", "1", "--poll", "10ms", "--json")
	if code != ExitCallbackFailed {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, ExitCallbackFailed, out, errOut)
	}
	want := map[string]any{"service": "demo-service", "status": "failed", "reference": "REF-1", "amount": float64(3),
		"scenario": map[string]any{"duplicates": float64(1)}}
	if diff := cmp.Diff(want, f.sent("/centili/simulate")[0]); diff != "" {
		t.Errorf("simulate body (-want +got):\n%s", diff)
	}
	var got triggered
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Callbacks) != 1 || got.Callbacks[0].Status != store.StatusRejected {
		t.Errorf("--json output %s (%v), want the rejected callback", out, err)
	}
}

func TestTriggerCinetPayErrors(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.answers["/v2/payment"] = func(body map[string]any) (int, any) {
		if body["apikey"] != "demo-apikey" {
			return http.StatusUnauthorized, map[string]any{"code": "609", "message": "AUTH_NOT_FOUND", "description": "apikey unknown"}
		}
		return http.StatusOK, map[string]any{"code": "608", "message": "MINIMUM_REQUIRED_FIELDS", "description": "amount must be a multiple of 5"}
	}
	code, _, errOut := run(t, "trigger", "cinetpay", "--api", srv.URL, "--url", "http://m.test/", "--follow=false", "--apikey", "nope")
	if code != ExitConfig || !strings.Contains(errOut, "609 AUTH_NOT_FOUND") {
		t.Errorf("unknown apikey: exit %d, stderr %q; want %d and CinetPay's code", code, errOut, ExitConfig)
	}
	code, _, errOut = run(t, "trigger", "cinetpay", "--api", srv.URL, "--url", "http://m.test/", "--follow=false", "--amount", "101")
	if code != ExitError || !strings.Contains(errOut, "608") {
		t.Errorf("code 608 in a 200: exit %d, stderr %q; want 1 and the code", code, errOut)
	}
	if n := len(f.sent("/v2/simulate")); n != 0 {
		t.Errorf("simulate called %d times after a failed initiation", n)
	}
}
