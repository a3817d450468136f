package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestSimulatePageInBrowser drives the payment simulator in Chromium: a
// bad callback URL is refused naming the field; a new QRIS payment with a
// duplicate lands on its callback's live view, delivered twice; a pending
// payment made through the gateway's API is offered, completed as FAILED,
// and leaves the list; a CinetPay payment out of order is fired too.
func TestSimulatePageInBrowser(t *testing.T) {
	sim := startSim(t)
	shop := simtest.NewMerchant(t, 200)
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1500, "order_id": "PENDING-IN-SHOP", "callback_url": shop.URL + "/qris"}, auth...); r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}

	ctx, console := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	step, text := steps(ctx, t, console)
	landedOn := func() string {
		t.Helper()
		var id string
		simtest.Eventually(t, 20*time.Second, func() bool {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`location.pathname === '/' && !document.getElementById('detail').hidden ? document.getElementById('detail-id').textContent : ''`))
			id = got
			return err == nil && strings.HasPrefix(id, "cb_")
		}, func() string { return "the callbacks page showing the fired callback" })
		if got := pageQuery(ctx, t); got != "callback="+id {
			t.Errorf("landed on ?%s, want ?callback=%s", got, id)
		}
		return id
	}

	step("sign in and open the simulator",
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(sim.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#token"), simtest.AdminToken),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#nav-simulate")),
		chromedp.Click(chromedp.CSS("#nav-simulate")),
		chromedp.WaitReady(chromedp.CSS(`#sim-merchant option[value="demo"]`)))

	step("a bad callback URL is refused, naming the field",
		chromedp.SendKeys(chromedp.CSS("#sim-callback-url"), "not-a-url"),
		chromedp.Click(chromedp.CSS("#sim-fire")),
		chromedp.WaitVisible(chromedp.CSS("#sim-error:not(:empty)")))
	if got := text("#sim-error"); !strings.HasPrefix(got, "create.callback_url: ") {
		t.Errorf("error = %q, want one naming create.callback_url", got)
	}
	if dis, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('sim-out-of-order').disabled`)); err != nil || !dis {
		t.Errorf("out of order offered for QRIS (%v)", err)
	}

	step("a new QRIS payment with one duplicate: fire, land on its callback",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('sim-callback-url').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#sim-callback-url"), shop.URL+"/qris"),
		chromedp.SendKeys(chromedp.CSS("#sim-reference"), "SIM-BROWSER-1"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('sim-duplicates').value = '1'`),
		chromedp.Click(chromedp.CSS("#sim-fire")))
	id := landedOn()
	step("see it delivered, live",
		chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts li[data-n="2"]`)))
	cb := sim.Callback(id)
	// The duplicate is due when the first notification is: either may go
	// first.
	kinds := map[store.Kind]int{}
	for _, a := range cb.Attempts {
		kinds[a.Kind]++
	}
	if cb.Reference != "SIM-BROWSER-1" || cb.Event != "SUCCESS" || len(cb.Attempts) != 2 || kinds[store.Duplicate] != 1 {
		t.Errorf("callback %s: %s of %s with attempts %v, want SUCCESS of SIM-BROWSER-1, once and once as a duplicate", id, cb.Event, cb.Reference, kinds)
	}

	step("back to the simulator: the pending payment is offered",
		chromedp.Click(chromedp.CSS("#nav-simulate")),
		chromedp.WaitReady(chromedp.CSS(`#sim-merchant option[value="demo"]`)),
		chromedp.Click(chromedp.CSS("#sim-mode-pending")),
		chromedp.WaitReady(chromedp.CSS(`#sim-payment option[value="PENDING-IN-SHOP"]`)))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#sim-payment option[value="SIM-BROWSER-1"]').length`)); err != nil || n != 0 {
		t.Errorf("the completed SIM-BROWSER-1 is offered as pending (%v)", err)
	}
	step("complete it as FAILED",
		chromedp.SetValue(chromedp.CSS("#sim-payment"), "PENDING-IN-SHOP"),
		chromedp.SetValue(chromedp.CSS("#sim-outcome"), "FAILED"),
		chromedp.Click(chromedp.CSS("#sim-fire")))
	id = landedOn()
	step("see it delivered", chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)))
	if cb := sim.Callback(id); cb.Reference != "PENDING-IN-SHOP" || cb.Event != "FAILED" {
		t.Errorf("callback %s: %s of %s, want FAILED of PENDING-IN-SHOP", id, cb.Event, cb.Reference)
	}

	step("a CinetPay payment, out of order",
		chromedp.Click(chromedp.CSS("#nav-simulate")),
		chromedp.WaitReady(chromedp.CSS(`#sim-merchant option[value="demo"]`)),
		chromedp.SetValue(chromedp.CSS("#sim-provider"), "cinetpay"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('sim-provider').dispatchEvent(new Event('change'))`),
		chromedp.WaitReady(chromedp.CSS(`#sim-outcome option[value="ACCEPTED"]`)),
		chromedp.SendKeys(chromedp.CSS("#sim-callback-url"), shop.URL+"/cinetpay"),
		chromedp.Click(chromedp.CSS("#sim-out-of-order")),
		chromedp.Click(chromedp.CSS("#sim-fire")))
	id = landedOn()
	step("see it delivered", chromedp.WaitVisible(chromedp.CSS(`#detail-status[data-status="delivered"]`)))
	if cb := sim.Callback(id); cb.Provider != "cinetpay" || cb.Event != "ACCEPTED" || !strings.HasPrefix(cb.Reference, "SIM-") {
		t.Errorf("callback %s: %s %s of %s, want cinetpay ACCEPTED of a new SIM-...", id, cb.Provider, cb.Event, cb.Reference)
	}
	for _, m := range console() {
		refused := strings.HasSuffix(m.URL, "/v1/simulate") && strings.Contains(m.String(), "status of 400")
		if (m.Type == chromedp.ConsoleError && !refused) || m.IsException() { // the browser logs the bad URL's 400
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// pageQuery reads the page's query string.
func pageQuery(ctx context.Context, t *testing.T) string {
	t.Helper()
	q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search.replace(/^\?/, '')`))
	if err != nil {
		t.Fatal(err)
	}
	return q
}
