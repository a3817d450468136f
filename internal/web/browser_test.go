package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// chromePath is Debian's Chromium, or CHROME_PATH. The test does not skip
// itself when it is missing: CI installs it (apt-get install -y chromium).
func chromePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROME_PATH")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no browser at %s (%v): install Debian's chromium (apt-get install -y chromium) or set CHROME_PATH", path, err)
	}
	return path
}

// browser starts a headless Chromium with a fresh profile, stopped when the
// test ends, and returns a context for its tab and the console messages it
// logged.
func browser(t *testing.T) (context.Context, func() []chromedp.ConsoleMessage) {
	t.Helper()
	profile := t.TempDir()
	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromePath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	ctx, stopTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		stopTab()
		stopAlloc() // waits for the browser to exit, before the profile is removed
	})
	// Start the browser without a deadline: a deadline on the first run
	// would bound the browser's whole life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
	)
	consoleCtx, stopConsole := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(consoleCtx) {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { stopConsole(); <-done })
	return ctx, func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return append([]chromedp.ConsoleMessage(nil), messages...)
	}
}

// steps returns what a browser test does on the tab of ctx: step runs
// actions, failing the test with what the console said when one fails,
// and text reads the text of the element sel selects.
func steps(ctx context.Context, t *testing.T, console func() []chromedp.ConsoleMessage) (
	step func(what string, actions ...chromedp.Action[chromedp.Void]), text func(sel string) string) {
	step = func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nconsole: %v", what, err, console())
		}
	}
	text = func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	return step, text
}

// hostile is what the failing merchant answers: markup that would run
// script if the dashboard ever parsed it as HTML.
const hostile = `<img id="xss" src="x" onerror="document.title='pwned'"><script>document.title='pwned'</script>`

// TestDashboardInBrowser signs in, sees a failed callback, resends it once
// the merchant is fixed, and sees it become delivered without a reload.
func TestDashboardInBrowser(t *testing.T) {
	sim := startSim(t) // no retries: the first failure fails the callback
	var fixed atomic.Bool
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fixed.Load() {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"ok":true}`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(hostile))
	}))
	t.Cleanup(merchant.Close)
	id := triggerFailing(t, sim, merchant.URL+"/payment-callback")

	ctx, console := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	row := fmt.Sprintf(`tr[data-id=%q]`, id)
	step, text := steps(ctx, t, console)

	step("open the dashboard: the login form",
		chromedp.Navigate(sim.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")))
	if table, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('callbacks') !== null`)); err != nil || table {
		t.Fatalf("the login page has a callbacks table (%t, %v): no token must mean no data", table, err)
	}

	step("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), simtest.AdminToken),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS(row)))
	if got := text(row + " .status"); got != "failed" {
		t.Errorf("the callback's row says %q, want failed", got)
	}

	step("open the failed callback",
		chromedp.Click(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts .hint`)))
	if got := text("#detail-id"); got != id {
		t.Errorf("detail shows %q, want %s", got, id)
	}
	if got := text("#attempts .hint"); !strings.Contains(got, "404") || !strings.Contains(got, "URL is wrong") {
		t.Errorf("hint = %q, want the 404 hint", got)
	}
	// The merchant's answer is shown as text, never parsed as HTML.
	if got := text("#attempts .response-body"); got != hostile {
		t.Errorf("response body shown as %q, want the merchant's answer verbatim", got)
	}
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.getElementById('xss') !== null || document.title === 'pwned' || document.querySelectorAll('#attempts script, #attempts img').length > 0`))
	if err != nil || injected {
		t.Errorf("the merchant's answer became markup (injected=%t, err=%v)", injected, err)
	}

	fixed.Store(true)
	step("resend, and see it delivered without a reload",
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
		chromedp.Click(chromedp.CSS("#resend")),
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .status[data-status="delivered"]`)))
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if err != nil || !same {
		t.Errorf("the page reloaded to show the change (same document: %t, %v)", same, err)
	}
	if got := text("#message"); !strings.Contains(got, "Resend of "+id+" queued") {
		t.Errorf("message = %q", got)
	}

	cb := sim.Callback(id)
	if cb.Status != store.StatusDelivered || len(cb.Attempts) != 2 || cb.Attempts[1].Kind != store.Manual {
		t.Errorf("callback: %s with %d attempts, want delivered by a second, manual attempt", cb.Status, len(cb.Attempts))
	}

	// A CinetPay notification delivered by its POST although the GET check
	// got a 404: the dashboard shows what to fix on the delivered attempt.
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(notify.Close)
	pingID := cinetpayDelivered(t, sim, notify.URL+"/notify")
	pingRow := fmt.Sprintf(`tr[data-id=%q]`, pingID)
	step("open a CinetPay callback whose GET check got a 404",
		chromedp.WaitVisible(chromedp.CSS(pingRow)),
		chromedp.Click(chromedp.CSS(pingRow)))
	simtest.Eventually(t, 10*time.Second, func() bool {
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`document.getElementById('detail-id').textContent === %q && document.querySelector('#attempts .hint') !== null`, pingID)))
		return err == nil && shown
	}, func() string { return "the CinetPay callback's detail with a hint" })
	const pingHint = "your notify_url answered 404 to CinetPay's GET check; it must answer 200 to GET and POST"
	if got := text("#attempts .hint"); !strings.Contains(got, pingHint) {
		t.Errorf("hint = %q, want %q", got, pingHint)
	}
	if got := text("#detail-status"); got != "delivered" {
		t.Errorf("status = %q, want delivered: the POST decides", got)
	}
	for _, m := range console() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			// A CSP violation or a script error: the page is broken.
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}
