package logdedup_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/logdedup"
)

// line is what a test reads of a JSON log line: its time since the test
// began, in whole seconds, its level, message and repeated count.
type line struct {
	At       int
	Level    string
	Msg      string
	Repeated int
}

func lines(t *testing.T, start time.Time, raw []byte) []line {
	t.Helper()
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var l struct {
			Time     time.Time `json:"time"`
			Level    string    `json:"level"`
			Msg      string    `json:"msg"`
			Repeated int       `json:"repeated"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %s", sc.Bytes())
		}
		out = append(out, line{int(l.Time.Sub(start) / time.Second), l.Level, l.Msg, l.Repeated})
	}
	return out
}

func TestCollapsesIdenticalWarningsAndErrors(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	for _, tc := range []struct {
		name string
		// log is called every 110 ms of fake time for 27.5 s, with the
		// tick's number (110 ms: no tick falls on an interval's end).
		log  func(log *slog.Logger, tick int)
		want []line
	}{{
		name: "an error nine times a second, for 27.5 s: once, then once per interval with the count",
		log:  func(log *slog.Logger, _ int) { log.Error("Failed to forward scheduled tasks", "error", refused) },
		want: []line{
			{0, "ERROR", "Failed to forward scheduled tasks", 0},
			{9, "ERROR", "Failed to forward scheduled tasks", 90},  // ticks 1..90 (the last at 9.9 s), written at 10 s
			{19, "ERROR", "Failed to forward scheduled tasks", 91}, // ticks 91..181, at 20 s
			{27, "ERROR", "Failed to forward scheduled tasks", 68}, // ticks 182..249, at 30 s
		},
	}, {
		name: "info lines are never collapsed",
		log: func(log *slog.Logger, tick int) {
			if tick%50 == 0 {
				log.Info("request", "route", "GET /healthz")
			}
		},
		want: []line{{0, "INFO", "request", 0}, {5, "INFO", "request", 0}, {11, "INFO", "request", 0}, {16, "INFO", "request", 0}, {22, "INFO", "request", 0}},
	}, {
		name: "other attributes make another line",
		log: func(log *slog.Logger, tick int) {
			if tick < 2 {
				log.Warn("trim indexes", "error", refused, "try", tick)
			}
		},
		want: []line{{0, "WARN", "trim indexes", 0}, {0, "WARN", "trim indexes", 0}},
	}, {
		name: "one line per interval: a warning in the interval after a line with a count waits for its end",
		log: func(log *slog.Logger, tick int) {
			if tick == 0 || tick == 5 || tick == 150 {
				log.Warn("redis unreachable")
			}
		},
		// At 0 s, 0.55 s (written at 10 s) and 16.5 s (written at 20 s).
		want: []line{{0, "WARN", "redis unreachable", 0}, {0, "WARN", "redis unreachable", 1}, {16, "WARN", "redis unreachable", 1}},
	}, {
		name: "a warning after a whole quiet interval is written at once",
		log: func(log *slog.Logger, tick int) {
			if tick == 0 || tick == 200 {
				log.Warn("redis unreachable")
			}
		},
		want: []line{{0, "WARN", "redis unreachable", 0}, {22, "WARN", "redis unreachable", 0}},
	}, {
		name: "the same message on derived loggers with other attributes",
		log: func(log *slog.Logger, tick int) {
			if tick < 3 {
				log.With("component", "asynq").Error("boom")
				log.With("component", "store").Error("boom")
			}
		},
		want: []line{{0, "ERROR", "boom", 0}, {0, "ERROR", "boom", 0}, {0, "ERROR", "boom", 2}, {0, "ERROR", "boom", 2}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var buf bytes.Buffer
				start := time.Now()
				log := slog.New(logdedup.New(slog.NewJSONHandler(&buf, nil), 10*time.Second))
				for tick := range 250 {
					tc.log(log, tick)
					time.Sleep(110 * time.Millisecond)
				}
				time.Sleep(time.Minute) // every interval ends
				synctest.Wait()
				if diff := cmp.Diff(tc.want, lines(t, start, buf.Bytes())); diff != "" {
					t.Errorf("lines (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestZeroIntervalCollapsesNothing(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logdedup.New(slog.NewJSONHandler(&buf, nil), 0))
	for range 3 {
		log.Error("boom")
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 3 {
		t.Errorf("%d lines, want 3", n)
	}
}
