package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/callbacksim/callbacksim/internal/syncbuf"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// End-to-end: `callbacksim trigger` and `callbacksim merchant` against a
// real simulator, for CinetPay and Centili (and QRIS signing from the same
// configuration file).

// shopConfig is a simulator configuration whose one merchant has every
// secret set, and a Centili service signing with SHA-256. notificationURL
// is where the Centili service's notifications go.
func shopConfig(notificationURL string) string {
	return `merchants:
  - id: shop
    qris: { token: shop-qris-token, signing_secret: shop-qris-secret, signing: hmac-sha256 }
    cinetpay: { apikey: shop-apikey, site_id: "998877", secret_key: shop-cinetpay-secret }
    centili:
      service: shop-service
      signature_key: shop-centili-key
      sign_algorithm: sha256
      notification_url: ` + notificationURL + `
`
}

// writeConfig writes a configuration file for the test.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "callbacksim.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSimFile runs a simulator on the configuration file at path, with
// the test's Redis, port, admin token and time scale, and the Centili
// notifications going to notificationURL.
func startSimFile(t *testing.T, path, notificationURL string) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg, err := config.Load(config.Options{File: path, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	test := simtest.Config(r.URL())
	cfg.HTTP, cfg.Redis, cfg.Admin, cfg.TimeScale, cfg.Log = test.HTTP, test.Redis, test.Admin, test.TimeScale, test.Log
	cfg.Merchants[0].Centili.NotificationURL = notificationURL
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// runMerchant runs `callbacksim merchant args...` in the background, as a
// user would, until the test ends, and returns its base URL and what it
// prints.
func runMerchant(t *testing.T, args ...string) (string, *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	prev := merchantContext
	merchantContext = func(context.Context) (context.Context, context.CancelFunc) {
		return context.WithCancel(ctx)
	}
	out := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() { done <- Run(append([]string{"merchant", "--addr", "127.0.0.1:0"}, args...), out, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("merchant %v: exit %d, want 0:\n%s", args, code, out)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("merchant %v did not stop", args)
		}
		merchantContext = prev
	})
	var base string
	simtest.Eventually(t, 5*time.Second, func() bool {
		m := listening.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, func() string { return "the merchant to say where it listens; it printed: " + out.String() })
	return base, out
}

// merchantLines waits until the merchant has printed n lines that hold
// text (a gateway's id: the merchant knows a notification by nothing else)
// and returns them. The merchant prints a line once it has answered, so the
// last one can come just after the simulator recorded the attempt.
func merchantLines(t *testing.T, out *syncbuf.Buffer, id string, n int) []string {
	t.Helper()
	var lines []string
	simtest.Eventually(t, 5*time.Second, func() bool {
		lines = lines[:0]
		for l := range strings.Lines(out.String()) {
			if strings.Contains(l, id) {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		return len(lines) >= n
	}, func() string { return fmt.Sprintf("%d merchant lines about %s; it printed:\n%s", n, id, out) })
	return lines
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, got)
		}
	}
}

// TestGatewaysEndToEnd triggers a payment of each gateway with the CLI,
// follows it to its final status, and has `callbacksim merchant`, given the
// same configuration file, verify every signature (and, for CinetPay, ask the
// check API for the truth).
func TestGatewaysEndToEnd(t *testing.T) {
	// The merchant for QRIS and Centili starts first: the Centili service's
	// notification_url, set in the simulator's configuration, is its address.
	path := writeConfig(t, shopConfig("http://127.0.0.1:1/centili"))
	front, frontOut := runMerchant(t, "--config", path, "--check=false")
	sim := startSimFile(t, path, front+"/centili")
	// The CinetPay merchant calls the simulator's check API.
	shop, shopOut := runMerchant(t, "--config", path, "--api", sim.URL)
	gw := func(args ...string) []string { return admin(sim, append([]string{"trigger"}, args...)...) }

	t.Run("cinetpay: ping, signed form, check API", func(t *testing.T) {
		code, out, errOut := run(t, gw("cinetpay", "--url", shop+"/cinetpay", "--apikey", "shop-apikey", "--site-id", "998877",
			"--reference", "TX-E2E-1", "--payment-method", "MOMO")...)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		id := callbackID.FindStringSubmatch(out)[1]
		mustContain(t, "trigger", out, "cinetpay payment TX-E2E-1 completed as ACCEPTED", "callback "+id,
			"ping: GET "+shop+"/cinetpay -> 200", "callback "+id+" delivered after 1 attempt(s)")
		if strings.Contains(out, "hint:") {
			t.Errorf("a ping answered 200 got a hint:\n%s", out)
		}
		lines := merchantLines(t, shopOut, "TX-E2E-1", 1)
		if len(lines) != 1 {
			t.Fatalf("merchant printed %d lines for TX-E2E-1, want the notification:\n%s", len(lines), shopOut)
		}
		mustContain(t, "merchant's ping line", merchantLines(t, shopOut, "ping", 1)[0], "cinetpay", "ping", "answered 200  GET /cinetpay")
		mustContain(t, "merchant's notification line", lines[0], "signature valid", "answered 200  POST /cinetpay",
			"cpm_trans_id=TX-E2E-1", "cpm_error_message=SUCCES", "payment_method=MOMO",
			"check: ACCEPTED (code 00 SUCCES, 100 XOF)")
	})

	t.Run("cinetpay out of order: trigger follows callback_ids", func(t *testing.T) {
		code, out, errOut := run(t, gw("cinetpay", "--url", shop+"/cinetpay", "--apikey", "shop-apikey", "--site-id", "998877",
			"--reference", "TX-E2E-2", "--status", "refused", "--out-of-order", "--json")...)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		var got triggered
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("--json output (%v):\n%s", err, out)
		}
		if len(got.CallbackIDs) != 2 || got.CallbackIDs[0] != got.CallbackID || len(got.Callbacks) != 2 {
			t.Fatalf("callback_id %s, callback_ids %v, %d callbacks followed; want 2, the REFUSED one first",
				got.CallbackID, got.CallbackIDs, len(got.Callbacks))
		}
		for i, want := range []string{"REFUSED", "WAITING_FOR_CUSTOMER"} {
			cb := got.Callbacks[i]
			if cb.ID != got.CallbackIDs[i] || cb.Event != want || cb.Status != store.StatusDelivered {
				t.Errorf("followed callback %d: %s %s %s, want %s %s delivered", i, cb.ID, cb.Event, cb.Status, got.CallbackIDs[i], want)
			}
		}
		// The merchant got the final notification first, and the check API
		// told it REFUSED both times.
		lines := merchantLines(t, shopOut, "cpm_trans_id=TX-E2E-2", 2)
		if len(lines) != 2 {
			t.Fatalf("merchant lines about TX-E2E-2: %d, want 2:\n%s", len(lines), shopOut)
		}
		refused, waiting := lines[0], lines[1]
		mustContain(t, "REFUSED notification, first", refused, "signature valid", "cpm_error_message=TRANSACTION_CANCEL",
			"check: REFUSED (code 627 TRANSACTION_CANCEL")
		// The late WAITING notification: the check says REFUSED, already
		// processed, so the merchant does nothing again.
		mustContain(t, "WAITING notification, second", waiting, "signature valid", "cpm_error_message=WAITING_CUSTOMER_TO_VALIDATE",
			"check: REFUSED (code 627 TRANSACTION_CANCEL", "duplicate: REFUSED already processed")
	})

	t.Run("cinetpay errors in CinetPay's shape", func(t *testing.T) {
		code, _, errOut := run(t, gw("cinetpay", "--url", shop+"/cinetpay", "--apikey", "nope", "--follow=false")...)
		if code != ExitConfig || !strings.Contains(errOut, "609 AUTH_NOT_FOUND") {
			t.Errorf("unknown apikey: exit %d, stderr %q; want %d and CinetPay's code", code, errOut, ExitConfig)
		}
		code, _, errOut = run(t, gw("cinetpay", "--url", shop+"/cinetpay", "--apikey", "shop-apikey", "--site-id", "998877",
			"--amount", "101", "--follow=false")...)
		if code != ExitUsage || !strings.Contains(errOut, "608 MINIMUM_REQUIRED_FIELDS") || !strings.Contains(errOut, "multiple of 5") {
			t.Errorf("amount 101: exit %d, stderr %q; want %d and code 608 saying why", code, errOut, ExitUsage)
		}
	})

	t.Run("centili: signed GET verified with the configured SHA-256 key", func(t *testing.T) {
		code, out, errOut := run(t, gw("centili", "--service", "shop-service", "--status", "failed", "--reference", "REF-E2E", "--amount", "3")...)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		id := callbackID.FindStringSubmatch(out)[1]
		mustContain(t, "trigger", out, "centili payment REF-E2E completed as failed", "callback "+id+" delivered after 1 attempt(s)")
		lines := merchantLines(t, frontOut, "reference=REF-E2E", 1)
		if len(lines) != 1 {
			t.Fatalf("merchant printed %d lines for REF-E2E, want 1:\n%s", len(lines), frontOut)
		}
		mustContain(t, "merchant's line", lines[0], "centili", "signature valid", "answered 200  GET /centili",
			"status=failed", "reference=REF-E2E", "amount=3", "errormessage=CHARGING_FAILED", "event_type=one_off")
	})

	t.Run("qris: X-Callback-Signature verified with the configured secret", func(t *testing.T) {
		code, out, errOut := run(t, gw("qris", "--url", front+"/qris", "--qris-token", "shop-qris-token", "--reference", "ORDER-E2E")...)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		lines := merchantLines(t, frontOut, "order_id=ORDER-E2E", 1)
		if len(lines) != 1 {
			t.Fatalf("merchant printed %d lines for ORDER-E2E, want 1:\n%s", len(lines), frontOut)
		}
		mustContain(t, "merchant's line", lines[0], "qris", "signature valid", "answered 200  POST /qris", "order_id=ORDER-E2E", "status=SUCCESS")
	})
}

// TestTriggerCentiliRejectedEndToEnd: a Centili handler that answers 406
// stops the notifications at once; trigger exits 4.
func TestTriggerCentiliRejectedEndToEnd(t *testing.T) {
	path := writeConfig(t, shopConfig("http://127.0.0.1:1/centili"))
	base, printed := runMerchant(t, "--config", path, "--check=false", "--always", "406")
	sim := startSimFile(t, path, base+"/centili")
	code, out, errOut := run(t, admin(sim, "trigger", "centili", "--service", "shop-service", "--duplicates", "1", "--reference", "REF-406", "--json")...)
	if code != ExitCallbackFailed {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, ExitCallbackFailed, out, errOut)
	}
	var got triggered
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Callbacks) != 1 {
		t.Fatalf("--json output (%v):\n%s", err, out)
	}
	cb := got.Callbacks[0]
	if cb.Status != store.StatusRejected || len(cb.Attempts) != 2 || cb.Attempts[0].Response == nil || cb.Attempts[0].Response.Status != 406 {
		t.Errorf("callback %s with %d attempts, want rejected by a 406 (and its duplicate)", cb.Status, len(cb.Attempts))
	}
	if lines := merchantLines(t, printed, "reference=REF-406", 2); len(lines) != 2 || !strings.Contains(lines[0], "signature valid") {
		t.Errorf("merchant printed for REF-406:\n%s\nwant two valid notifications (the duplicate too)", printed)
	}
	if !strings.Contains(errOut, "ended rejected") {
		t.Errorf("stderr = %q, want it to say the callback was rejected", errOut)
	}
}

// TestMerchantStopsWithAConnectionHeldOpen: a gateway's HTTP client may
// open a connection it never uses (two requests at once, one dial too
// many). Stopping the merchant drops it and exits 0.
func TestMerchantStopsWithAConnectionHeldOpen(t *testing.T) {
	prev := merchantGrace
	merchantGrace = 100 * time.Millisecond
	t.Cleanup(func() { merchantGrace = prev })
	ctx, cancel := context.WithCancel(context.Background())
	prevCtx := merchantContext
	merchantContext = func(context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
	t.Cleanup(func() { merchantContext = prevCtx })
	out := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() { done <- Run([]string{"merchant", "--addr", "127.0.0.1:0", "--check=false"}, out, out) }()
	var base string
	simtest.Eventually(t, 5*time.Second, func() bool {
		m := listening.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, func() string { return "the merchant to say where it listens; it printed: " + out.String() })
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("merchant exit %d, want 0:\n%s", code, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("merchant did not stop")
	}
}
