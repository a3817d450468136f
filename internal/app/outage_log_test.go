package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestRedisOutageLogsEachErrorOnce stops Redis under an idle process for
// 2 s: asynq's forwarder fails every poll interval (about 30 ERROR lines a
// second without logdedup), and the log shows each line once.
func TestRedisOutageLogsEachErrorOnce(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	cfg.Log = config.Log{Format: "json", Level: "info"}
	_, logs, stop := runLogged(t, cfg)
	const forward = "Failed to forward scheduled tasks"
	r.Stop()
	downAt := time.Now()
	simtest.Eventually(t, 10*time.Second, func() bool {
		return time.Since(downAt) > 2*time.Second && strings.Contains(logs.String(), forward)
	}, func() string { return fmt.Sprintf("2 s of outage and asynq's %q", forward) })
	r.Restart()
	stop()

	counts := map[string]int{}
	for _, l := range parseJSONLines(t, logs.Bytes()) {
		if l.Level == "ERROR" || l.Level == "WARN" {
			counts[l.Level+" "+l.Msg]++
		}
	}
	for line, n := range counts {
		if n > 1 {
			t.Errorf("%d times in a 2 s outage, want once: %s", n, line)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs.Bytes())
	}
}
