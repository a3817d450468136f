package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/syncbuf"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/cli"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// runLogged runs a process with both roles and the logger the CLI builds
// from cfg.Log, writing to the returned buffer. stop ends the process and
// waits for it, so that every line is written.
func runLogged(t *testing.T, cfg config.Config) (baseURL string, logs *syncbuf.Buffer, stop func()) {
	t.Helper()
	logs = &syncbuf.Buffer{}
	a, err := app.New(cfg, both, cli.NewLogger(cfg.Log, logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("the process did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + a.Addr(), logs, stop
}

// waitStatus waits until callback id of the simulator at baseURL has
// status want.
func waitStatus(t *testing.T, baseURL, id string, want store.Status) {
	t.Helper()
	var cb store.Callback
	simtest.Eventually(t, 10*time.Second, func() bool {
		r := simtest.Do(t, http.MethodGet, baseURL+"/v1/callbacks/"+id, nil, "Authorization", "Bearer "+simtest.AdminToken)
		r.JSON(t, &cb)
		return cb.Status == want
	}, func() string { return fmt.Sprintf("callback %s to become %s (last seen %s)", id, want, cb.Status) })
}

// logLine is the part of a slog JSON line the tests read.
type logLine struct {
	Time     time.Time `json:"time"`
	Level    string    `json:"level"`
	Msg      string    `json:"msg"`
	Callback string    `json:"callback"`
	Provider string    `json:"provider"`
	Status   string    `json:"status"`
	Outcome  string    `json:"outcome"`
}

func parseJSONLines(t *testing.T, raw []byte) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Msg == "" || l.Level == "" || l.Time.IsZero() {
			t.Errorf("log line is not a slog JSON object (%v): %s", err, sc.Bytes())
			continue
		}
		out = append(out, l)
	}
	return out
}

var urlWithQuery = regexp.MustCompile(`https?://[^\s"]*\?`)

func TestJSONLogsALinePerFinalStatusAndNoSecret(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	cfg.Log = config.Log{Format: "json", Level: "debug"}
	cfg.Merchants[0].QRIS.SigningSecret = "qris-signing-secret-value"
	secrets := []string{
		simtest.AdminToken, opstest.QRISToken, cfg.Merchants[0].QRIS.SigningSecret,
		cfg.Merchants[0].CinetPay.APIKey, cfg.Merchants[0].CinetPay.SecretKey,
		cfg.Merchants[0].Centili.SignatureKey, "wrong-bearer-token-value",
		"query-secret-1", "query-secret-2", "query-secret-3",
	}
	url, logs, stop := runLogged(t, cfg)
	ok := simtest.NewMerchant(t)
	failing := simtest.NewMerchant(t, http.StatusInternalServerError)
	closed := fmt.Sprintf("http://127.0.0.1:%d", redistest.FreePort(t)) // nothing listens: refused

	want := map[string]struct {
		status   store.Status
		attempts int
	}{
		opstest.QRISCallback(t, url, "ORDER-LOG-OK", ok.URL+"/cb?token=query-secret-1", "SUCCESS"):        {store.StatusDelivered, 1},
		opstest.QRISCallback(t, url, "ORDER-LOG-500", failing.URL+"/cb?sig=query-secret-2", "FAILED"):     {store.StatusFailed, 3},
		opstest.QRISCallback(t, url, "ORDER-LOG-REFUSED", closed+"/cb?key=query-secret-3&x=1", "SUCCESS"): {store.StatusFailed, 3},
	}
	for id, w := range want {
		waitStatus(t, url, id, w.status)
	}
	// Bad credentials on both APIs.
	simtest.Do(t, http.MethodGet, url+"/v1/callbacks", nil, "Authorization", "Bearer wrong-bearer-token-value")
	simtest.Do(t, http.MethodPost, url+"/api/qris/initiate", "{}", "Authorization", "Bearer wrong-bearer-token-value")
	stop()

	raw := logs.Bytes()
	lines := parseJSONLines(t, raw)
	finished := map[string][]logLine{}
	attempts := map[string]int{}
	for _, l := range lines {
		switch l.Msg {
		case "callback finished":
			finished[l.Callback] = append(finished[l.Callback], l)
		case "attempt":
			if l.Level != "DEBUG" {
				t.Errorf("attempt line at %s, want DEBUG", l.Level)
			}
			attempts[l.Callback]++
		}
	}
	for id, w := range want {
		got := finished[id]
		if len(got) != 1 {
			t.Errorf("%s: %d 'callback finished' lines, want 1", id, len(got))
			continue
		}
		if l := got[0]; l.Level != "INFO" || l.Status != string(w.status) || l.Provider != config.QRIS {
			t.Errorf("%s: finished line %+v, want INFO, status %s, provider qris", id, l, w.status)
		}
		if attempts[id] != w.attempts {
			t.Errorf("%s: %d attempt lines, want %d (one per attempt)", id, attempts[id], w.attempts)
		}
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the logs contain the secret %q", s)
		}
	}
	if m := urlWithQuery.Find(raw); m != nil {
		t.Errorf("the logs contain a URL with a query string: %s", m)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", raw)
	}
}

func TestInfoLevelLogsFinalStatusesButNotAttempts(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	cfg.Log = config.Log{Format: "json", Level: "info"}
	url, logs, stop := runLogged(t, cfg)
	merchant := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusOK)
	id := opstest.QRISCallback(t, url, "ORDER-LOG-INFO", merchant.URL, "SUCCESS")
	waitStatus(t, url, id, store.StatusDelivered)
	stop()

	var finished, attempts int
	for _, l := range parseJSONLines(t, logs.Bytes()) {
		switch {
		case l.Level == "DEBUG":
			t.Errorf("a DEBUG line at level info: %+v", l)
		case l.Msg == "attempt":
			attempts++
		case l.Msg == "callback finished" && l.Callback == id:
			finished++
		}
	}
	if finished != 1 || attempts != 0 {
		t.Errorf("%d finished lines and %d attempt lines, want 1 and 0", finished, attempts)
	}
}

func TestTextLogFormat(t *testing.T) {
	var buf bytes.Buffer
	log := cli.NewLogger(config.Log{Format: "text", Level: "warn"}, &buf)
	log.Info("dropped")
	log.Warn("kept", "callback", "cb_x")
	if got := strings.TrimSpace(buf.String()); !strings.Contains(got, "level=WARN msg=kept callback=cb_x") || strings.Contains(got, "dropped") {
		t.Errorf("text logger wrote %q, want one WARN line in key=value form", got)
	}
}

func TestShortAdminTokenWarnsAtStart(t *testing.T) {
	r := redistest.Start(t)
	for token, warned := range map[string]bool{"short-token": true, "a-sixteen-chars!": false} {
		cfg := simtest.Config(r.URL())
		cfg.Admin.Token = token
		_, logs, stop := runLogged(t, cfg)
		stop()
		if got := strings.Contains(logs.String(), "admin.token is short"); got != warned {
			t.Errorf("admin token of %d characters: warned %v, want %v:\n%s", len(token), got, warned, logs)
		}
	}
}
