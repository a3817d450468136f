package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/merchant"
)

// TestChecksInBrowser starts a run of the QRIS checks from the checks page
// against a handler that accepts forged signatures, watches it live until
// it ends failed, and opens the failed check's callback on the callbacks
// page.
func TestChecksInBrowser(t *testing.T) {
	const secret = "browser-qris-secret"
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants[0].QRIS.SigningSecret = secret
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	// The bug: it answers as scripted (200) whatever the signature. It
	// holds every callback until the test has seen the run in progress.
	m, err := merchant.New(merchant.Options{QRISSecret: secret, AcceptInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-seen:
			m.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(handler.Close)

	ctx, console := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	step, text := steps(ctx, t, console)

	step("sign in and open the checks page",
		chromedp.Navigate(sim.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#token"), simtest.AdminToken),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#nav-checks")),
		chromedp.Click(chromedp.CSS("#nav-checks")),
		chromedp.WaitVisible(chromedp.CSS("#check-form")),
		chromedp.WaitVisible(chromedp.CSS("#runs-empty")))

	step("a bad URL is refused, naming the field",
		chromedp.SendKeys(chromedp.CSS("#check-url"), "not a url"),
		chromedp.Click(chromedp.CSS("#check-start")),
		// The paragraph is always there, empty until the answer came.
		chromedp.WaitVisible(chromedp.CSS("#check-error:not(:empty)")))
	if got := text("#check-error"); !strings.HasPrefix(got, "url: ") {
		t.Errorf("error = %q, want one naming the url field", got)
	}

	step("start the QRIS checks",
		chromedp.SetValue(chromedp.CSS("#check-url"), handler.URL+"/qris"),
		chromedp.Click(chromedp.CSS("#check-start")),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="running"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#results .result-pending`)))
	runID := text("#run-id")
	if !strings.HasPrefix(runID, "chk_") {
		t.Fatalf("run id %q", runID)
	}
	close(seen)
	step("watch it end failed, without a reload",
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#runs-list tr[data-id=%q] .status[data-status="failed"]`, runID))))
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if err != nil || !same {
		t.Errorf("the page reloaded to show the run (same document: %t, %v)", same, err)
	}
	verdicts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('#results .result')].map((li) => [li.dataset.name, li.dataset.status]))`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"qris.success_acknowledged": "pass", "qris.failed_acknowledged": "pass", "qris.duplicate_acknowledged": "pass",
		"qris.forged_signature_rejected": "fail", "qris.no_redirect": "pass", "qris.answers_in_time": "pass",
	}
	if fmt.Sprint(verdicts) != fmt.Sprint(want) {
		t.Errorf("verdicts %v, want %v", verdicts, want)
	}
	forged := `#results .result[data-name="qris.forged_signature_rejected"]`
	if got := text(forged + " .hint"); !strings.Contains(got, "Fix: verify the signature") {
		t.Errorf("the failed check's hint = %q", got)
	}
	if got := text(forged + " .rule"); !strings.Contains(got, "Rule: ") || !strings.Contains(got, "Standard Webhooks") {
		t.Errorf("the failed check's rule = %q", got)
	}
	callback := text(forged + " .result-callbacks a")

	step("open the forged callback on the callbacks page",
		chromedp.Click(chromedp.CSS(forged+" .result-callbacks a")),
		chromedp.WaitVisible(chromedp.CSS("#detail-check")))
	if got := text("#detail-id"); got != callback {
		t.Errorf("the callbacks page shows %q, want %s", got, callback)
	}
	if got := text("#detail-check"); got != runID {
		t.Errorf("the callback's check run is %q, want %s", got, runID)
	}
	step("and back to its run",
		chromedp.Click(chromedp.CSS("#detail-check")),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="failed"]`)))
	if got := text("#run-id"); got != runID {
		t.Errorf("the checks page shows run %q, want %s", got, runID)
	}
	for _, m := range console() {
		refused := strings.HasSuffix(m.URL, "/v1/checks") && strings.Contains(m.String(), "status of 400")
		if (m.Type == chromedp.ConsoleError && !refused) || m.IsException() { // the browser logs the bad URL's 400
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}
