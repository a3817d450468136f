package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/syncbuf"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/merchant"
)

// run runs the command line and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv(EnvAPI, "")
	t.Setenv(EnvToken, "")
	t.Setenv(EnvAdminToken, "")
	var stdout, stderr bytes.Buffer
	code := Run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// admin prefixes args with the simulator's address and token.
func admin(sim *simtest.Sim, args ...string) []string {
	return append(args, "--api", sim.URL, "--token", simtest.AdminToken)
}

const qrisSecret = "qris-signing-secret"

// startSim runs a simulator whose demo merchant signs QRIS callbacks.
func startSim(t *testing.T) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants[0].QRIS.SigningSecret = qrisSecret
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

// startMerchant runs the sample merchant with the simulator's secrets.
func startMerchant(t *testing.T, script ...int) (*httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	out := &syncbuf.Buffer{}
	m, err := merchant.New(merchant.Options{QRISSecret: qrisSecret, Script: script, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv, out
}

var callbackID = regexp.MustCompile(`callback (cb_[a-z0-9]+)`)

func TestTriggerQRISFollowsUntilDelivered(t *testing.T) {
	sim := startSim(t)
	m, printed := startMerchant(t, 500, 500, 200)
	code, out, errOut := run(t, admin(sim, "trigger", "qris", "--url", m.URL+"/qris", "--amount", "75000", "--reference", "ORDER-FOLLOW")...)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	match := callbackID.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("no callback id printed:\n%s", out)
	}
	for _, want := range []string{"qris payment ORDER-FOLLOW", "#1", "auto", "retry", "500", "hint: 500", "#3", "200", "delivered after 3 attempt(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	// The same hint is said once (TestProgress covers the rest).
	if got := strings.Count(out, "hint: 500"); got != 1 || strings.Contains(out, "\r") {
		t.Errorf("the 500 hint is printed %d times, want once, and no countdown off a terminal:\n%q", got, out)
	}
	cb := sim.Callback(match[1])
	if cb.Status != store.StatusDelivered || len(cb.Attempts) != 3 {
		t.Errorf("callback %s: %s with %d attempts, want delivered with 3", cb.ID, cb.Status, len(cb.Attempts))
	}
	// The merchant saw valid signatures on every delivery.
	lines := merchantLines(t, printed, "order_id=ORDER-FOLLOW", 3)
	if len(lines) != 3 || strings.Count(strings.Join(lines, "\n"), "signature valid") != 3 {
		t.Errorf("merchant printed:\n%s\nwant three lines with a valid signature for ORDER-FOLLOW", printed)
	}
}

func TestTriggerQRISFailedExits4WithJSON(t *testing.T) {
	sim := startSim(t)
	m, _ := startMerchant(t, 500)
	code, out, errOut := run(t, admin(sim, "trigger", "qris", "--callback-url", m.URL, "--status", "failed", "--json")...)
	if code != ExitCallbackFailed {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitCallbackFailed, errOut)
	}
	var got triggered
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output is not JSON (%v):\n%s", err, out)
	}
	if got.Provider != "qris" || got.CallbackID == "" || len(got.Callbacks) != 1 {
		t.Fatalf("output = %+v", got)
	}
	cb := got.Callbacks[0]
	if cb.Status != store.StatusFailed || len(cb.Attempts) != 4 || cb.Event != "FAILED" {
		t.Errorf("callback: %s, event %s, %d attempts; want failed after 4 attempts of a FAILED payment", cb.Status, cb.Event, len(cb.Attempts))
	}
	if !strings.Contains(errOut, "ended failed") {
		t.Errorf("stderr = %q, want it to say the callback ended failed", errOut)
	}
}

func TestTriggerDuplicatesAndNoFollow(t *testing.T) {
	sim := startSim(t)
	m, printed := startMerchant(t)
	code, out, errOut := run(t, admin(sim, "trigger", "qris", "--url", m.URL, "--duplicates", "2", "--reference", "ORDER-DUP")...)
	if code != ExitOK {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	if n := strings.Count(out, "duplicate"); n != 2 {
		t.Errorf("output shows %d duplicates, want 2:\n%s", n, out)
	}
	if final := strings.Index(out, "delivered after 3 attempt(s)"); final < strings.LastIndex(out, "duplicate") || !strings.HasSuffix(out, "delivered after 3 attempt(s)\n") {
		t.Errorf("the final line is not last, after the duplicates:\n%s", out)
	}
	// The merchant knows the copies by the gateway's ids, as it would in
	// production: the same order, processed once.
	lines := merchantLines(t, printed, "order_id=ORDER-DUP", 3)
	if len(lines) != 3 || strings.Count(strings.Join(lines, "\n"), "duplicate: SUCCESS already processed") != 2 {
		t.Errorf("merchant lines about ORDER-DUP:\n%s\nwant 3, two of them noted as duplicates", strings.Join(lines, "\n"))
	}

	// --follow=false: no token needed, the id is printed, exit 0.
	code, out, errOut = run(t, "trigger", "qris", "--api", sim.URL, "--url", m.URL, "--follow=false", "--json")
	var ans triggered
	if code != ExitOK || json.Unmarshal([]byte(out), &ans) != nil || !strings.HasPrefix(ans.CallbackID, "cb_") {
		t.Errorf("--follow=false: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
}

func TestTriggerUsageErrors(t *testing.T) {
	sim := startSim(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no gateway", []string{"trigger"}, ExitUsage},
		{"unknown gateway", []string{"trigger", "paypal", "--url", "http://x.test/"}, ExitUsage},
		{"qris without --url", []string{"trigger", "qris"}, ExitUsage},
		{"relative --url", []string{"trigger", "qris", "--url", "/cb"}, ExitUsage},
		{"bad status", []string{"trigger", "qris", "--url", "http://x.test/", "--status", "ACCEPTED"}, ExitUsage},
		{"qris out of order", []string{"trigger", "qris", "--url", "http://x.test/", "--out-of-order"}, ExitUsage},
		{"cinetpay out of order with no final status", []string{"trigger", "cinetpay", "--url", "http://x.test/", "--status", "waiting_for_customer", "--out-of-order"}, ExitUsage},
		{"centili with --url", []string{"trigger", "centili", "--url", "http://x.test/"}, ExitUsage},
		{"unknown flag", []string{"trigger", "qris", "--colour"}, ExitUsage},
		{"delay over the scenario's bound", []string{"trigger", "qris", "--url", "http://x.test/", "--delay", "48h"}, ExitUsage},
		{"no token to follow", []string{"trigger", "qris", "--url", "http://x.test/", "--api", sim.URL}, ExitConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--api") && len(args) > 1 {
				args = admin(sim, args...)
			}
			code, _, errOut := run(t, args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.want, errOut)
			}
			if errOut == "" {
				t.Error("nothing on stderr to say what is wrong")
			}
		})
	}
}

// TestTriggerChecksBeforeItActs: a wrong admin token, a --delay or a
// --duplicates out of bounds stop trigger before its first request with a
// side effect: no payment is left behind, no callback queued.
func TestTriggerChecksBeforeItActs(t *testing.T) {
	sim := startSim(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"wrong token", []string{"--token", "wrong"}, ExitConfig},
		{"delay over 24h", []string{"--token", simtest.AdminToken, "--delay", "25h"}, ExitUsage},
		{"more than 10 duplicates", []string{"--token", simtest.AdminToken, "--duplicates", "11"}, ExitUsage},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, gw := range []string{"qris", "cinetpay"} {
				ref := fmt.Sprintf("ORDER-CHECKED-%s-%d", gw, i)
				args := append([]string{"trigger", gw, "--api", sim.URL, "--url", "http://127.0.0.1:9/" + gw, "--reference", ref}, tt.args...)
				code, out, errOut := run(t, args...)
				if code != tt.want || errOut == "" {
					t.Errorf("%s: exit %d, want %d; stdout %s stderr %s", gw, code, tt.want, out, errOut)
				}
				if resp := sim.Do(http.MethodGet, "/api/qris/transactions/"+ref, nil, "Authorization", "Bearer demo-qris-token"); gw == "qris" && resp.Status != http.StatusNotFound {
					t.Errorf("qris order %s: %d, want 404: trigger created the payment before refusing", ref, resp.Status)
				}
				check := sim.Do(http.MethodPost, "/v2/payment/check", map[string]string{"apikey": "demo-apikey", "site_id": "445160", "transaction_id": ref})
				if gw == "cinetpay" && strings.Contains(string(check.Body), `"code":"00"`) {
					t.Errorf("cinetpay transaction %s exists: trigger created the payment before refusing: %s", ref, check.Body)
				}
			}
		})
	}
	var page listAnswer
	sim.Admin(http.MethodGet, "/v1/callbacks", nil).JSON(t, &page)
	if len(page.Callbacks) != 0 {
		t.Errorf("%d callback(s) queued, want none", len(page.Callbacks))
	}
}

func TestCallbacksCommands(t *testing.T) {
	sim := startSim(t)
	good, _ := startMerchant(t)
	bad, _ := startMerchant(t, 404)
	var ids []string
	for _, url := range []string{good.URL, bad.URL, bad.URL} {
		code, out, errOut := run(t, admin(sim, "trigger", "qris", "--url", url)...)
		if code != ExitOK && code != ExitCallbackFailed {
			t.Fatalf("trigger: exit %d: %s", code, errOut)
		}
		ids = append(ids, callbackID.FindStringSubmatch(out)[1])
	}
	delivered, failed := ids[0], ids[1:]

	t.Run("list", func(t *testing.T) {
		code, out, errOut := run(t, admin(sim, "callbacks", "list")...)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, id := range ids {
			if !strings.Contains(out, id) {
				t.Errorf("list does not show %s:\n%s", id, out)
			}
		}
		if !strings.HasPrefix(out, "ID") || !strings.Contains(out, "STATUS") {
			t.Errorf("list is not a table:\n%s", out)
		}
	})
	t.Run("list filtered, JSON, paged", func(t *testing.T) {
		code, out, _ := run(t, admin(sim, "callbacks", "list", "--status", "failed", "--limit", "1", "--json")...)
		var page struct {
			Callbacks  []store.Callback `json:"callbacks"`
			NextCursor *string          `json:"next_cursor"`
		}
		if code != ExitOK || json.Unmarshal([]byte(out), &page) != nil {
			t.Fatalf("exit %d, output %s", code, out)
		}
		if len(page.Callbacks) != 1 || page.Callbacks[0].Status != store.StatusFailed || page.NextCursor == nil {
			t.Fatalf("page = %s, want one failed callback and a cursor", out)
		}
		code, out, _ = run(t, admin(sim, "callbacks", "list", "--status", "failed", "--cursor", *page.NextCursor)...)
		if code != ExitOK || strings.Contains(out, page.Callbacks[0].ID) || strings.Contains(out, "more:") {
			t.Errorf("second page: exit %d\n%s", code, out)
		}
	})
	t.Run("the more hint repeats every filter", func(t *testing.T) {
		// Following the hint lists the next page of the same selection:
		// the other failed callback, and not the delivered one.
		code, out, errOut := run(t, admin(sim, "callbacks", "list", "--status", "failed", "--provider", "qris", "--limit", "1")...)
		_, hint, found := strings.Cut(out, "\nmore: ")
		if code != ExitOK || !found {
			t.Fatalf("exit %d, no more: line\n%s%s", code, out, errOut)
		}
		words := strings.Fields(hint)
		for _, want := range []string{"--status=failed", "--provider=qris", "--limit=1", "--api=" + sim.URL, "--cursor"} {
			if !slices.Contains(words, want) {
				t.Errorf("hint %q does not repeat %s", hint, want)
			}
		}
		if strings.Contains(hint, simtest.AdminToken) {
			t.Errorf("hint %q shows the admin token", hint)
		}
		if words[0] != "callbacksim" {
			t.Fatalf("hint %q is not a callbacksim command", hint)
		}
		code, next, errOut := run(t, append(words[1:], "--token", simtest.AdminToken)...)
		if code != ExitOK {
			t.Fatalf("following the hint: exit %d: %s", code, errOut)
		}
		onFirst := slices.IndexFunc(failed, func(id string) bool { return strings.Contains(out, id) })
		if onFirst < 0 {
			t.Fatalf("first page shows neither failed callback:\n%s", out)
		}
		other := failed[1-onFirst]
		if !strings.Contains(next, other) || strings.Contains(next, failed[onFirst]) || strings.Contains(next, delivered) || strings.Contains(next, "more:") {
			t.Errorf("the hint's page:\n%s\nwant the other failed callback (%s) only, after:\n%s", next, other, out)
		}
	})
	t.Run("list --search by callback id and by reference", func(t *testing.T) {
		cb := sim.Callback(failed[1])
		for _, q := range []string{failed[1], strings.ToLower(cb.Reference), cb.TransactionID} {
			code, out, errOut := run(t, admin(sim, "callbacks", "list", "--search", q)...)
			if code != ExitOK || !strings.Contains(out, failed[1]) || strings.Contains(out, failed[0]) || strings.Contains(out, delivered) {
				t.Errorf("--search %s: exit %d, want only %s:\n%s%s", q, code, failed[1], out, errOut)
			}
		}
		code, out, _ := run(t, admin(sim, "callbacks", "show", failed[1])...)
		if code != ExitOK || !regexp.MustCompile(`(?m)^transaction\s+`+regexp.QuoteMeta(cb.TransactionID)+`$`).MatchString(out) {
			t.Errorf("show does not print the transaction id %s:\n%s", cb.TransactionID, out)
		}
	})
	t.Run("list: bad limit is a usage error", func(t *testing.T) {
		if code, _, errOut := run(t, admin(sim, "callbacks", "list", "--limit", "501")...); code != ExitUsage || !strings.Contains(errOut, "limit") {
			t.Errorf("exit %d, stderr %q; want 2 naming limit", code, errOut)
		}
	})
	t.Run("show", func(t *testing.T) {
		code, out, _ := run(t, admin(sim, "callbacks", "show", failed[0])...)
		if code != ExitOK || !strings.Contains(out, "failed") || !strings.Contains(out, "#4") || !strings.Contains(out, "hint: 404") {
			t.Errorf("show: exit %d\n%s", code, out)
		}
		code, out, _ = run(t, admin(sim, "callbacks", "show", "-v", delivered)...)
		for _, want := range []string{"> POST", "> User-Agent: Go-http-client/1.1", "> X-Callback-Signature: ", `"order_id"`, "< 200", `< {"status":"ok"}`} {
			if !strings.Contains(out, want) {
				t.Errorf("show -v does not show %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "X-Callback-Id") {
			t.Errorf("show -v shows an X-Callback-Id, which no gateway sends:\n%s", out)
		}
		if code != ExitOK {
			t.Errorf("exit %d", code)
		}
		code, out, _ = run(t, admin(sim, "callbacks", "show", delivered, "--json")...)
		var cb store.Callback
		if code != ExitOK || json.Unmarshal([]byte(out), &cb) != nil || cb.ID != delivered || len(cb.Attempts) != 1 {
			t.Errorf("show --json: exit %d\n%s", code, out)
		}
	})
	t.Run("not found exits 5", func(t *testing.T) {
		for _, args := range [][]string{{"callbacks", "show", "cb_nope"}, {"callbacks", "resend", "cb_nope"}, {"callbacks", "retry-now", "cb_nope"}} {
			if code, _, _ := run(t, admin(sim, args...)...); code != ExitNotFound {
				t.Errorf("%v: exit %d, want %d", args, code, ExitNotFound)
			}
		}
	})
	t.Run("retry-now on a delivered callback: 409, exit 1", func(t *testing.T) {
		code, _, errOut := run(t, admin(sim, "callbacks", "retry-now", delivered)...)
		if code != ExitError || !strings.Contains(errOut, "no scheduled attempt") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("resend one", func(t *testing.T) {
		code, out, _ := run(t, admin(sim, "callbacks", "resend", delivered)...)
		if code != ExitOK || !strings.Contains(out, "resend of "+delivered+" queued") {
			t.Errorf("exit %d\n%s", code, out)
		}
		simtest.Eventually(t, 5*time.Second, func() bool { return len(sim.Callback(delivered).Attempts) == 2 },
			func() string { return "the resend to be attempted" })
	})
	t.Run("resend by ids, one unknown: exit 5", func(t *testing.T) {
		code, out, errOut := run(t, admin(sim, "callbacks", "resend", failed[0], "cb_gone")...)
		if code != ExitNotFound || !strings.Contains(out, "1 callback(s) queued") || !strings.Contains(errOut, "cb_gone") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
	})
	t.Run("resend by filter", func(t *testing.T) {
		code, out, errOut := run(t, admin(sim, "callbacks", "resend", "--status", "failed", "--provider", "qris", "--since", "1h", "--json")...)
		var ans bulkAnswer
		if code != ExitOK || json.Unmarshal([]byte(out), &ans) != nil || ans.Queued != 2 {
			t.Errorf("exit %d\nstdout %s\nstderr %s; want 2 queued", code, out, errOut)
		}
	})
	t.Run("resend usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"callbacks", "resend"},
			{"callbacks", "resend", delivered, "--status", "failed"},
			{"callbacks", "resend", "--since", "last tuesday"},
		} {
			if code, _, _ := run(t, admin(sim, args...)...); code != ExitUsage {
				t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
			}
		}
	})
	t.Run("credentials and reachability", func(t *testing.T) {
		if code, _, errOut := run(t, "callbacks", "list", "--api", sim.URL); code != ExitConfig || !strings.Contains(errOut, EnvAdminToken) {
			t.Errorf("no token: exit %d, stderr %q", code, errOut)
		}
		if code, _, _ := run(t, "callbacks", "list", "--api", sim.URL, "--token", "wrong"); code != ExitConfig {
			t.Errorf("wrong token: exit %d, want %d", code, ExitConfig)
		}
		if code, _, _ := run(t, "callbacks", "list", "--api", "localhost:8080", "--token", "x"); code != ExitConfig {
			t.Errorf("--api without a scheme: exit %d, want %d", code, ExitConfig)
		}
		closed := fmt.Sprintf("http://127.0.0.1:%d", redistest.FreePort(t))
		if code, _, errOut := run(t, "callbacks", "list", "--api", closed, "--token", "x"); code != ExitUnreachable || !strings.Contains(errOut, "unreachable") {
			t.Errorf("nothing listening: exit %d, stderr %q", code, errOut)
		}
		if code, _, _ := run(t, "callbacks", "bogus"); code != ExitUsage {
			t.Errorf("unknown subcommand: exit %d, want %d", code, ExitUsage)
		}
		if code, _, _ := run(t, "callbacks"); code != ExitUsage {
			t.Errorf("no subcommand: exit %d, want %d", code, ExitUsage)
		}
	})
	t.Run("environment", func(t *testing.T) {
		// The CLI's own name for the token, the server's, and the CLI's
		// winning over the server's.
		for _, env := range [][]string{
			{EnvToken, simtest.AdminToken},
			{EnvAdminToken, simtest.AdminToken},
			{EnvToken, simtest.AdminToken, EnvAdminToken, "not-the-token"},
		} {
			var stdout, stderr bytes.Buffer
			t.Setenv(EnvAPI, sim.URL)
			t.Setenv(EnvToken, "")
			t.Setenv(EnvAdminToken, "")
			for i := 0; i < len(env); i += 2 {
				t.Setenv(env[i], env[i+1])
			}
			if code := Run([]string{"callbacks", "list", "--json"}, &stdout, &stderr); code != ExitOK || !strings.Contains(stdout.String(), delivered) {
				t.Errorf("with %s and %v set: exit %d, %s %s", EnvAPI, env, code, stdout.String(), stderr.String())
			}
		}
	})
}

// TestMerchantCommand runs `callbacksim merchant` as a user would, with a
// script, and delivers a signed QRIS callback to it from a simulator.
func TestMerchantCommand(t *testing.T) {
	sim := startSim(t)
	base, out := runMerchant(t, "--script", "500,200", "--qris-secret", qrisSecret)
	code, stdout, errOut := run(t, admin(sim, "trigger", "qris", "--url", base+"/qris", "--reference", "ORDER-CMD")...)
	if code != ExitOK {
		t.Fatalf("trigger: exit %d\n%s\n%s", code, stdout, errOut)
	}
	printed := strings.Join(merchantLines(t, out, "order_id=ORDER-CMD", 2), "\n")
	for _, want := range []string{"qris", "TXN-", "signature valid", "answered 500", "answered 200", "order_id=ORDER-CMD"} {
		if !strings.Contains(printed, want) {
			t.Errorf("merchant output does not say %q:\n%s", want, printed)
		}
	}
}

func TestMerchantCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"merchant", "--script", "500,abc"}, ExitUsage},
		{[]string{"merchant", "--script", "500", "--always", "406"}, ExitUsage},
		{[]string{"merchant", "--always", "42"}, ExitUsage},
		{[]string{"merchant", "--centili-algorithm", "sha3"}, ExitUsage},
		{[]string{"merchant", "--merchant", "nobody"}, ExitConfig},
		{[]string{"merchant", "--config", "/nonexistent/callbacksim.yaml"}, ExitConfig},
		{[]string{"merchant", "--delay", "soon"}, ExitUsage},
	}
	for _, tt := range tests {
		if code, _, errOut := run(t, tt.args...); code != tt.want {
			t.Errorf("%v: exit %d, want %d; stderr %s", tt.args, code, tt.want, errOut)
		}
	}
}

// TestCinetPayPingHintShown: a notify_url that answers 404 to CinetPay's
// GET check but 200 to the POST is delivered, and both trigger and
// callbacks show say what to fix.
func TestCinetPayPingHintShown(t *testing.T) {
	sim := startSim(t)
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.NotFound(w, r) // a POST-only route
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(notify.Close)
	const want = "hint: your notify_url answered 404 to CinetPay's GET check; it must answer 200 to GET and POST"
	code, out, errOut := run(t, admin(sim, "trigger", "cinetpay", "--url", notify.URL+"/notify", "--reference", "TX-PING-404")...)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0 (the POST decides)\nstdout %s\nstderr %s", code, out, errOut)
	}
	if !strings.Contains(out, "ping: GET "+notify.URL+"/notify -> 404") || !strings.Contains(out, want) {
		t.Errorf("trigger output does not show the ping's 404 and its hint:\n%s", out)
	}
	id := callbackID.FindStringSubmatch(out)[1]
	code, out, _ = run(t, admin(sim, "callbacks", "show", id)...)
	if code != ExitOK || !strings.Contains(out, "delivered") || !strings.Contains(out, want) {
		t.Errorf("callbacks show: exit %d, want the delivered attempt with the ping hint:\n%s", code, out)
	}
}

// TestServeConfigErrorsExit3: whatever is wrong with the configuration (a
// missing file, a misspelt variable, a bad value), serve stops with exit 3
// and says what.
func TestServeConfigErrorsExit3(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("providers:\n  qris:\n    retry:\n      schedule: [5s, banana]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sharedSite := filepath.Join(t.TempDir(), "shared.yaml")
	if err := os.WriteFile(sharedSite, []byte("merchants:\n"+
		"  - {id: a, cinetpay: {apikey: k1, site_id: '445160', secret_key: s}}\n"+
		"  - {id: b, cinetpay: {apikey: k2, site_id: '445160', secret_key: s}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"missing file", "", []string{"serve", "--config", filepath.Join(t.TempDir(), "absent.yaml")}, "absent.yaml: no such file"},
		{"misspelt variable", "CALLBACKSIM_TIME_SCAL=2", []string{"serve"}, "CALLBACKSIM_TIME_SCAL: unknown environment variable; did you mean CALLBACKSIM_TIME_SCALE?"},
		{"bad value", "", []string{"serve", "--config", bad}, `providers.qris.retry.schedule[1]: "banana" is not a duration`},
		{"bad flag value", "", []string{"serve", "--time-scale", "fast"}, `time_scale: cannot parse "fast" as a number`},
		{"two merchants on one site_id", "", []string{"serve", "--config", sharedSite}, `merchants[1].cinetpay.site_id: merchants "a" and "b" use the same value`},
		{"merchant, misspelt variable", "CALLBACKSIM_REDIS_UR=redis://x", []string{"merchant"}, "did you mean CALLBACKSIM_REDIS_URL?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if name, val, ok := strings.Cut(tt.env, "="); ok {
				t.Setenv(name, val)
			}
			code, _, errOut := run(t, tt.args...)
			if code != ExitConfig || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitConfig, tt.want)
			}
		})
	}
}

// startServe runs callbacksim serve in the test's process, with env set,
// until the test ends, and returns what it printed once it has printed
// the start-up hints.
func startServe(t *testing.T, env ...string) string {
	t.Helper()
	r := redistest.Start(t)
	for i := 0; i < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"serve", "--http-addr", "127.0.0.1:0", "--redis-url", r.URL(), "--log-level", "error"}, out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("serve exited %d: %s", code, errOut.String())
		}
	})
	simtest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "CALLBACKSIM_ADMIN_TOKEN=") },
		func() string { return "serve to print its start-up hints; so far:\n" + out.String() + errOut.String() })
	return out.String()
}

var (
	dashboardLine = regexp.MustCompile(`(?m)^dashboard: (http://127\.0\.0\.1:\d+)/ `)
	exportLine    = regexp.MustCompile(`(?m)^  export CALLBACKSIM_ADMIN_TOKEN=([0-9a-f]+)$`)
)

// TestServePrintsTheDashboardAndTheTokenToExport: with a generated token,
// serve prints the dashboard's URL and the export line, and the CLI works
// with that line alone, without --token.
func TestServePrintsTheDashboardAndTheTokenToExport(t *testing.T) {
	out := startServe(t, EnvAdminToken, "")
	dash, export := dashboardLine.FindStringSubmatch(out), exportLine.FindStringSubmatch(out)
	if dash == nil || export == nil {
		t.Fatalf("serve printed:\n%s\nwant a dashboard: line and an export line", out)
	}
	resp := simtest.Do(t, http.MethodGet, dash[1]+"/", nil)
	if resp.Status != http.StatusOK {
		t.Errorf("GET the dashboard URL: %d", resp.Status)
	}
	t.Setenv(EnvAdminToken, export[1])
	t.Setenv(EnvToken, "")
	t.Setenv(EnvAPI, dash[1])
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"callbacks", "list"}, &stdout, &stderr); code != ExitOK {
		t.Errorf("callbacks list with the exported token: exit %d: %s", code, stderr.String())
	}
}

// TestServeKeepsAChosenTokenOutOfItsOutput: a token the user set is not
// printed; the hint names the variable instead.
func TestServeKeepsAChosenTokenOutOfItsOutput(t *testing.T) {
	const chosen = "my-own-admin-token-0123456789"
	out := startServe(t, EnvAdminToken, chosen)
	if strings.Contains(out, chosen) {
		t.Errorf("serve printed the chosen token:\n%s", out)
	}
	if !strings.Contains(out, "export CALLBACKSIM_ADMIN_TOKEN=<your admin.token>") || dashboardLine.FindString(out) == "" {
		t.Errorf("serve printed:\n%s\nwant the dashboard URL and the variable to export", out)
	}
}

func TestBrowsable(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		"[::]:8080":      "http://127.0.0.1:8080",
		"[::1]:9000":     "http://[::1]:9000",
		"sim.local:80":   "http://sim.local:80",
	} {
		if got := browsable(addr); got != want {
			t.Errorf("browsable(%q) = %s, want %s", addr, got, want)
		}
	}
}
