//go:build unix

package examples_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	simapp "github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/internal/syncbuf"
	"github.com/callbacksim/callbacksim/payloads"
)

// The credentials of the simulator's merchants besides the demo one. App a
// runs with the defaults (the demo merchant: unsigned QRIS, Centili
// HMAC-SHA1); app b with a signed QRIS merchant and a Centili service signed
// with HMAC-SHA256. The forger holds wrong keys for both gateways.
const (
	signedQRISToken  = "signed-qris-token"
	signedQRISSecret = "signed-qris-secret"
	sha256Service    = "sha256-service"
	sha256SignKey    = "sha256-sign-key"
	forgerQRISToken  = "forger-qris-token"
	forgerService    = "forger-service"
)

// demo is the demo merchant the apps default to.
var demo = config.DemoMerchant()

// appSettings are the environment variables the examples read; an app gets
// only those the harness sets, so that app a runs on its defaults.
var appSettings = []string{
	"CALLBACKSIM_API", "PUBLIC_URL", "ORDERS_FILE", "QRIS_TOKEN", "QRIS_SIGNING_SECRET",
	"CINETPAY_APIKEY", "CINETPAY_SITE_ID", "CINETPAY_SECRET_KEY",
	"CENTILI_SERVICE", "CENTILI_SIGNATURE_KEY", "CENTILI_SIGN_ALGORITHM",
}

// harness is one example under test: a simulator, a recorder of what the
// apps ask the gateway API, and two instances of the app. A check needs
// nothing else: the simulator's API is at sim.URL (operator token
// simtest.AdminToken), the apps at a.URL and b.URL, and the demo
// merchant's Centili notifications go to a.URL + "/centili".
type harness struct {
	sim *simtest.Sim
	gw  *recorder
	a   *merchantApp // the defaults: the demo merchant
	b   *merchantApp // signed QRIS, Centili HMAC-SHA256
}

// startHarness starts a simulator whose merchants call back the two
// instances of the example in dir, then the instances, one after the other
// (a run script may build the app).
func startHarness(t *testing.T, dir string) *harness {
	t.Helper()
	aPort, bPort := freePort(t), freePort(t)
	aURL, bURL := "http://127.0.0.1:"+aPort, "http://127.0.0.1:"+bPort

	redis := redistest.Start(t)
	cfg := simtest.Config(redis.URL())
	local := demo
	centili := *demo.Centili
	centili.NotificationURL = aURL + "/centili"
	local.Centili = &centili
	cfg.Merchants = []config.Merchant{
		local,
		{
			ID:   "signed",
			QRIS: &config.QRISMerchant{Token: signedQRISToken, SigningSecret: signedQRISSecret, Signing: payloads.QRISSigningHMAC},
			Centili: &config.CentiliMerchant{Service: sha256Service, SignatureKey: sha256SignKey, SignAlgorithm: "sha256",
				NotificationURL: bURL + "/centili"},
		},
		{
			ID:   "forger",
			QRIS: &config.QRISMerchant{Token: forgerQRISToken, SigningSecret: "not-" + signedQRISSecret, Signing: payloads.QRISSigningHMAC},
			Centili: &config.CentiliMerchant{Service: forgerService, SignatureKey: "not-" + demo.Centili.SignatureKey,
				SignAlgorithm: "sha1", NotificationURL: aURL + "/centili"},
		},
	}
	sim := simtest.StartConfig(t, cfg, simapp.Roles{API: true, Worker: true}, redis)
	gw := newRecorder(t, sim.URL)
	h := &harness{sim: sim, gw: gw}
	h.a = startApp(t, dir, aPort, "CALLBACKSIM_API="+gw.URL)
	h.b = startApp(t, dir, bPort, "CALLBACKSIM_API="+gw.URL,
		"QRIS_TOKEN="+signedQRISToken, "QRIS_SIGNING_SECRET="+signedQRISSecret,
		"CENTILI_SERVICE="+sha256Service, "CENTILI_SIGNATURE_KEY="+sha256SignKey, "CENTILI_SIGN_ALGORITHM=sha256")
	return h
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// merchantApp is a running example app.
type merchantApp struct {
	URL string
	out *syncbuf.Buffer // its stdout and stderr
}

// startApp starts dir/run PORT with the environment variables of
// appSettings cleared, then set as given, and waits until it answers.
func startApp(t *testing.T, dir, port string, env ...string) *merchantApp {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "run"), port)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(appSettings, name)
	})
	cmd.Env = append(cmd.Env, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that cleanup ends all it started
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", cmd.Path, port, out)
		}
	})
	a := &merchantApp{URL: "http://127.0.0.1:" + port, out: out}
	client := &http.Client{Timeout: time.Second}
	simtest.Eventually(t, 2*time.Minute, func() bool {
		select {
		case <-exited:
			t.Fatalf("%s %s exited before answering:\n%s", cmd.Path, port, out)
		default:
		}
		resp, err := client.Get(a.URL + "/orders/none")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound
	}, func() string {
		return fmt.Sprintf("%s %s to answer GET /orders/none with 404:\n%s", cmd.Path, port, out)
	})
	return a
}

// order creates an order paid through gateway, as the shop's front end
// does, and returns its id.
func (a *merchantApp) order(t *testing.T, gateway string) string {
	t.Helper()
	return postFor(t, a.URL+"/orders", map[string]string{"gateway": gateway}, http.StatusCreated, "order_id")
}

// postFor posts body to url and returns the string field of the JSON
// answer, failing the test unless the answer has status and the field.
func postFor(t *testing.T, url string, body any, status int, field string, header ...string) string {
	t.Helper()
	r := simtest.Do(t, http.MethodPost, url, body, header...)
	var got map[string]any
	r.JSON(t, &got)
	v, _ := got[field].(string)
	if r.Status != status || v == "" {
		t.Fatalf("POST %s: %d %s, want %d and a %s", url, r.Status, r.Body, status, field)
	}
	return v
}

// status returns the status of the app's order id.
func (a *merchantApp) status(t *testing.T, id string) string {
	t.Helper()
	r := simtest.Do(t, http.MethodGet, a.URL+"/orders/"+url.PathEscape(id), nil)
	var got struct {
		Status string `json:"status"`
	}
	r.JSON(t, &got)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /orders/%s: %d %s", id, r.Status, r.Body)
	}
	return got.Status
}

// wantStatus fails the test unless order id has status want.
func (a *merchantApp) wantStatus(t *testing.T, id, want string) {
	t.Helper()
	if got := a.status(t, id); got != want {
		t.Errorf("order %s is %q, want %q", id, got, want)
	}
}

var fulfilled = regexp.MustCompile(`fulfilled order (\S+)`)

// fulfilments counts the app's log lines saying it fulfilled order id.
func (a *merchantApp) fulfilments(id string) int {
	n := 0
	for _, m := range fulfilled.FindAllStringSubmatch(a.out.String(), -1) {
		if m[1] == id {
			n++
		}
	}
	return n
}

// wantFulfilled waits until order id has been fulfilled n times, and fails
// the test if it was fulfilled more often.
func (a *merchantApp) wantFulfilled(t *testing.T, id string, n int) {
	t.Helper()
	simtest.Eventually(t, 5*time.Second, func() bool { return a.fulfilments(id) >= n },
		func() string {
			return fmt.Sprintf("order %s to be fulfilled %d times (%d so far)", id, n, a.fulfilments(id))
		})
	if got := a.fulfilments(id); got != n {
		t.Errorf("order %s fulfilled %d times, want %d", id, got, n)
	}
}

// answersInTime bounds an answer: a fifth of the gateways' 10 s timeout.
const answersInTime = 2 * time.Second

// delivered waits until callback id has ended and has at least attempts
// attempts, and fails the test unless it was delivered and every attempt
// was answered 200 in time.
func (h *harness) delivered(t *testing.T, id string, attempts int) store.Callback {
	t.Helper()
	cb := h.finished(t, id, attempts)
	if cb.Status != store.StatusDelivered {
		t.Errorf("callback %s (%s %s) ended %s, want delivered; attempts: %s", id, cb.Provider, cb.Event, cb.Status, answers(cb))
	}
	for _, at := range cb.Attempts {
		if at.Response == nil || at.Response.Status != http.StatusOK {
			t.Errorf("callback %s attempt %d: %s, want 200", id, at.N, answers(cb))
		}
		if d := time.Duration(at.DurationMS * float64(time.Millisecond)); d > answersInTime {
			t.Errorf("callback %s attempt %d took %s, want at most %s", id, at.N, d, answersInTime)
		}
	}
	return cb
}

// finished waits until callback id has a final status and at least
// attempts attempts, or a status other than delivered.
func (h *harness) finished(t *testing.T, id string, attempts int) store.Callback {
	t.Helper()
	sim := h.sim.With(t)
	var cb store.Callback
	simtest.Eventually(t, 20*time.Second, func() bool {
		cb = sim.Callback(id)
		return cb.Status.Final() && (cb.Status != store.StatusDelivered || len(cb.Attempts) >= attempts)
	}, func() string {
		return fmt.Sprintf("callback %s to end with %d attempts (%s, %s)", id, attempts, cb.Status, answers(cb))
	})
	return cb
}

// firstAnswer waits for the first attempt of callback id and returns it.
func (h *harness) firstAnswer(t *testing.T, id string) store.Attempt {
	t.Helper()
	sim := h.sim.With(t)
	var cb store.Callback
	simtest.Eventually(t, 20*time.Second, func() bool {
		cb = sim.Callback(id)
		return len(cb.Attempts) > 0
	}, func() string { return fmt.Sprintf("a first attempt of callback %s", id) })
	return cb.Attempts[0]
}

// answers lists the answers of a callback's attempts, for messages.
func answers(cb store.Callback) string {
	var parts []string
	for _, at := range cb.Attempts {
		switch {
		case at.Response != nil:
			parts = append(parts, fmt.Sprintf("#%d %d %q", at.N, at.Response.Status, at.Response.Body))
		default:
			parts = append(parts, fmt.Sprintf("#%d %s", at.N, at.Error))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// simulate posts a simulate request to the simulator and returns the
// callback id it queued.
func (h *harness) simulate(t *testing.T, path string, body any, header ...string) string {
	t.Helper()
	return postFor(t, h.sim.URL+path, body, http.StatusAccepted, "callback_id", header...)
}

// recorder is a reverse proxy in front of the simulator that records the
// requests the apps make to the gateway API, so that a test can tell
// whether an app asked CinetPay's verification API or the QRIS transaction
// API.
type recorder struct {
	URL string
	mu  sync.Mutex
	got []gatewayCall
}

// gatewayCall is one request an app made to the gateway API.
type gatewayCall struct {
	Method, Path  string
	TransactionID string // transaction_id of a CinetPay body, JSON or form
}

func newRecorder(t *testing.T, target string) *recorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.got = append(rec.got, gatewayCall{Method: r.Method, Path: r.URL.Path, TransactionID: transactionID(body)})
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func transactionID(body []byte) string {
	var v struct {
		TransactionID string `json:"transaction_id"`
	}
	if json.Unmarshal(body, &v) == nil {
		return v.TransactionID
	}
	form, _ := url.ParseQuery(string(body))
	return form.Get("transaction_id")
}

// count returns how many requests to method path the apps made, for
// transaction id txn when txn is not "".
func (rec *recorder) count(method, path, txn string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, c := range rec.got {
		if c.Method == method && c.Path == path && (txn == "" || c.TransactionID == txn) {
			n++
		}
	}
	return n
}

// checks returns how many times the apps called CinetPay's verification
// API for transaction txn.
func (rec *recorder) checks(txn string) int {
	return rec.count(http.MethodPost, "/v2/payment/check", txn)
}

// wantChecks waits until the apps have called CinetPay's verification API
// at least n times for transaction txn.
func (rec *recorder) wantChecks(t *testing.T, txn string, n int) {
	t.Helper()
	simtest.Eventually(t, 5*time.Second, func() bool { return rec.checks(txn) >= n }, func() string {
		return fmt.Sprintf("%d calls to /v2/payment/check for %s (got %d)", n, txn, rec.checks(txn))
	})
}
