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

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// layoutProblems is a script that says what is wrong with the callbacks
// list while a callback is open ("" when nothing): a sideways scroll of
// the list or the page, and a Status or Next attempt cell out of sight or
// cut.
const layoutProblems = `(() => {
  const problems = [];
  const list = document.getElementById('list');
  const lr = list.getBoundingClientRect();
  if (document.getElementById('detail').hidden) problems.push('no callback open');
  if (list.scrollWidth > list.clientWidth + 1) problems.push('the list scrolls sideways (' + list.scrollWidth + ' > ' + list.clientWidth + ' px)');
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
    problems.push('the page scrolls sideways (' + document.documentElement.scrollWidth + ' > ' + window.innerWidth + ' px: ' + wide.join(', ') + ')');
  }
  for (const row of document.querySelectorAll('#callbacks tr')) {
    for (const sel of ['.col-status', '.col-next']) {
      const c = row.querySelector(sel);
      const r = c.getBoundingClientRect();
      if (r.width === 0 || r.right > lr.right + 1) problems.push(sel + ' out of sight (right ' + r.right + ', list ' + lr.right + ')');
      if (c.scrollWidth > c.clientWidth + 1) problems.push(sel + ' cut (' + c.scrollWidth + ' > ' + c.clientWidth + ' px)');
    }
  }
  return problems.join('; ');
})()`

// TestDashboardLayoutInBrowser checks, in Chromium at 1400 and 420 px, that
// an open callback leaves the list's Status and Next attempt in sight, that
// attempts opened in one callback are closed in the next, that JSON bodies
// are indented, that "Copy as curl" shows the command the API gives, and
// that filters matching nothing say so and clear the message before.
func TestDashboardLayoutInBrowser(t *testing.T) {
	sim := startSim(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":true,"order":{"id":1}}`))
	}))
	t.Cleanup(ok.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)
	failing := triggerFailing(t, sim, down.URL+"/callbacks/"+strings.Repeat("x", 40))
	long := "ORDER-WITH-A-VERY-LONG-REFERENCE-" + strings.Repeat("9", 30)
	delivered := qrisDelivered(t, sim, long, ok.URL+"/qris")

	ctx, console := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	step, text := steps(ctx, t, console)
	row := func(id string) string { return fmt.Sprintf(`#callbacks tr[data-id=%q]`, id) }
	checkLayout := func(width int) {
		t.Helper()
		problems, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutProblems))
		if err != nil || problems != "" {
			t.Errorf("at %d px: %s %v", width, problems, err)
		}
	}

	step("sign in at 1400 px and open the delivered callback",
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(sim.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#token"), simtest.AdminToken),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS(row(delivered))),
		chromedp.Click(chromedp.CSS(row(delivered))),
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)))
	checkLayout(1400)

	step("open its attempt's request and answer",
		chromedp.Click(chromedp.CSS(`#attempts li[data-n="1"] details summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts .request-body`)))
	if got := text("#attempts .response-body"); got != "{\n  \"received\": true,\n  \"order\": {\n    \"id\": 1\n  }\n}" {
		t.Errorf("JSON answer shown as %q, want it indented", got)
	}
	if got := text("#attempts .request-body"); !strings.Contains(got, "{\n  \"order_id\": \""+long+"\",\n") {
		t.Errorf("JSON request body shown as %q, want it indented", got)
	}

	step("copy the attempt as curl",
		chromedp.Click(chromedp.CSS(`#attempts li[data-n="1"] .copy-curl`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts li[data-n="1"] pre.curl`)))
	var ans struct{ Curl string }
	sim.Admin(http.MethodGet, "/v1/callbacks/"+delivered+"/attempts/1/curl", nil).JSON(t, &ans)
	if got := text(`#attempts pre.curl`); got != ans.Curl || !strings.HasPrefix(got, "curl ") {
		t.Errorf("the dashboard's curl command is %q, want the API's %q", got, ans.Curl)
	}
	if got := text("#message"); !strings.Contains(got, "curl command of attempt #1") {
		t.Errorf("message after copying = %q", got)
	}

	step("open the other callback: nothing of the first stays open",
		chromedp.Click(chromedp.CSS(row(failing))),
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="failed"]`)))
	open, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#attempts details[open], #attempts pre.curl').length`))
	if err != nil || open != 0 {
		t.Errorf("%d attempt parts open in the next callback (%v), want none", open, err)
	}
	checkLayout(1400)

	step("filters that match nothing say so, and clear the message",
		chromedp.SetValue(chromedp.CSS("#status"), "rejected"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('status').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.CSS("#no-match")))
	if got := text("#no-match"); got != "No callbacks match these filters." {
		t.Errorf("no-match text = %q", got)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('empty').hidden && document.getElementById('message').textContent === ''`))
	if err != nil || !hidden {
		t.Errorf(`"No callbacks yet" shown, or the old message kept, with filters on (%v)`, err)
	}

	step("search by the reference, in lower case",
		chromedp.SetValue(chromedp.CSS("#status"), ""),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('status').dispatchEvent(new Event('change'))`),
		chromedp.SendKeys(chromedp.CSS("#search"), strings.ToLower(long[:30])),
		chromedp.WaitNotPresent(chromedp.CSS(row(failing))),
		chromedp.WaitVisible(chromedp.CSS(row(delivered))))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#callbacks tr').length`)); err != nil || n != 1 {
		t.Errorf("%d rows for the search (%v), want 1", n, err)
	}
	if dis, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('resend-matching').disabled`)); err != nil || !dis {
		t.Errorf("Resend all matching enabled with a search, which a bulk resend cannot filter by (%v)", err)
	}

	step("at 420 px, with the search cleared and a callback open",
		chromedp.EmulateViewport(420, 900),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('search').value = ''; document.getElementById('filters').requestSubmit()`),
		chromedp.WaitVisible(chromedp.CSS(row(failing))),
		chromedp.Click(chromedp.CSS(row(delivered))),
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)))
	checkLayout(420)

	cb := sim.Callback(delivered)
	if cb.Status != store.StatusDelivered {
		t.Errorf("callback %s is %s", delivered, cb.Status)
	}
	for _, m := range console() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// qrisDelivered creates a QRIS payment of order to url, completes it, and
// returns its callback id once delivered.
func qrisDelivered(t *testing.T, sim *simtest.Sim, order, url string) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": order, "callback_url": url}, auth...); r.Status != 201 {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": order, "status": "SUCCESS"}, auth...).JSON(t, &ans)
	sim.WaitStatus(ans.CallbackID, store.StatusDelivered, 10*time.Second)
	return ans.CallbackID
}
