package check

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelection(t *testing.T) {
	tests := []struct {
		only []string
		want []string
	}{
		{nil, qrisSuite.names()},
		{[]string{qrisRedirect}, []string{qrisRedirect}},
		{[]string{qrisFailed}, []string{qrisSuccess, qrisFailed, qrisRedirect, qrisInTime}},
		{[]string{qrisDuplicate, qrisForged, qrisDuplicate}, []string{qrisSuccess, qrisDuplicate, qrisForged, qrisRedirect, qrisInTime}},
	}
	for _, tt := range tests {
		if got := qrisSuite.selection(tt.only); !slices.Equal(got, tt.want) {
			t.Errorf("selection(%v) = %v, want %v", tt.only, got, tt.want)
		}
	}
	if got := cinetpaySuite.selection([]string{cinetpayWaiting}); !slices.Equal(got, []string{cinetpayNotified, cinetpayVerified, cinetpayWaiting}) {
		t.Errorf("waiting_then_final needs %v", got)
	}
}

// Every check's dependencies are checks of its own suite, listed before
// nothing that depends on them in a cycle, and every check has a rule and
// a source.
func TestSuitesAreWellFormed(t *testing.T) {
	for provider, s := range suites {
		seen := map[string]bool{}
		for _, sp := range s.specs {
			if seen[sp.name] {
				t.Errorf("%s: %s twice", provider, sp.name)
			}
			seen[sp.name] = true
			if sp.rule == "" || sp.source == "" || len(sp.name) <= len(provider)+1 || sp.name[:len(provider)+1] != provider+"." {
				t.Errorf("%s: check %q lacks a rule, a source or its gateway's prefix", provider, sp.name)
			}
			for _, dep := range sp.after {
				if _, ok := s.spec(dep); !ok || dep == sp.name {
					t.Errorf("%s: %s needs %q, not a check of its suite", provider, sp.name, dep)
				}
			}
		}
		if s.provider != provider || s.run == nil || s.has == nil || s.refName == "" {
			t.Errorf("%s: suite incomplete", provider)
		}
	}
}

// A running run with no sign of life is shown as failed; a finished or
// lively one as it is.
func TestDecodeStaleRun(t *testing.T) {
	now := time.Date(2024, 1, 20, 10, 30, 0, 0, time.UTC)
	r := &Runner{now: func() time.Time { return now }}
	for _, tt := range []struct {
		status  RunStatus
		updated time.Time
		want    RunStatus
	}{
		{Running, now.Add(-time.Second), Running},
		{Running, now.Add(-staleAfter - time.Second), Failed},
		{Passed, now.Add(-time.Hour), Passed},
	} {
		raw, _ := json.Marshal(Run{ID: "chk_1", Status: tt.status, UpdatedAt: tt.updated, Current: "x"})
		got, err := r.decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tt.want || (tt.want == Failed && (got.Error == "" || got.Current != "")) {
			t.Errorf("%s updated %s ago: decoded %s %q", tt.status, now.Sub(tt.updated), got.Status, got.Error)
		}
	}
}

// docs/checks.md has a section for every check, and names no check that
// does not exist: CI refers to the names it documents.
func TestChecksAreDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	known := map[string]bool{}
	for provider, s := range suites {
		for _, name := range s.names() {
			known[name] = true
			if !strings.Contains(doc, "\n### `"+name+"`\n") {
				t.Errorf("docs/checks.md has no section ### `%s` (%s)", name, provider)
			}
		}
	}
	for _, m := range regexp.MustCompile("`((?:qris|cinetpay|centili)\\.[a-z_]+)`").FindAllStringSubmatch(doc, -1) {
		if !known[m[1]] {
			t.Errorf("docs/checks.md names %s, which is no check", m[1])
		}
	}
}
