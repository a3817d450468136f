package dispatcher

import (
	"net/http"
	"strings"
	"testing"
)

func TestHint(t *testing.T) {
	const target = "https://shop.example/api/payment-callback"
	loc := func(v string) http.Header { return http.Header{"Location": {v}} }
	tests := []struct {
		name   string
		code   int
		cause  Cause
		header http.Header
		want   []string // substrings the hint must hold; nil: no hint
	}{
		{"404 wrong URL", 404, "", nil, []string{"404", "URL is wrong"}},
		{"419 Laravel CSRF", 419, "", nil, []string{"Laravel", "CSRF", "exempt"}},
		{"403 no route on the API gateway", 403, "", nil, []string{"403", "API gateway"}},
		{"504 upstream timeout", 504, "", nil, []string{"504", "upstream timed out"}},
		{"401 auth on the route", 401, "", nil, []string{"401", "signature"}},
		{"405 wrong method", 405, "", nil, []string{"405", "method"}},
		{"429 rate limited", 429, "", nil, []string{"rate limit"}},
		{"502 app down behind proxy", 502, "", nil, []string{"502", "proxy"}},
		{"500 handler failed", 500, "", nil, []string{"logs"}},
		{"301 absolute Location", 301, "", loc("https://shop.example/api/payment-callback/"),
			[]string{"301", "moved to https://shop.example/api/payment-callback/", "final one"}},
		{"302 relative Location resolved", 302, "", loc("/v2/callback"),
			[]string{"302", "moved to https://shop.example/v2/callback"}},
		{"308 scheme change", 308, "", loc("https://shop.example/api/payment-callback"),
			[]string{"308", "https://shop.example/api/payment-callback"}},
		{"307 without Location", 307, "", nil, []string{"307", "without a Location"}},
		{"refused", 0, CauseRefused, nil, []string{"nothing listens", "not reachable from the simulator"}},
		{"timeout", 0, CauseTimeout, nil, []string{"timeout"}},
		{"TLS", 0, CauseTLS, nil, []string{"TLS", "certificate"}},
		{"DNS", 0, CauseDNS, nil, []string{"DNS", "does not resolve"}},
		{"reset", 0, CauseReset, nil, []string{"reset"}},
		{"blocked by egress policy", 0, CauseBlocked, nil, []string{"egress"}},
		{"other network error: no hint", 0, CauseNetwork, nil, nil},
		{"406 stop code: no hint", 406, "", nil, nil},
		{"400 unknown cause: no hint", 400, "", nil, nil},
		{"201 not a failure cause: no hint", 201, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hint(tt.code, tt.cause, tt.header, target)
			if tt.want == nil {
				if got != "" {
					t.Errorf("Hint(%d, %q) = %q, want no hint", tt.code, tt.cause, got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Hint(%d, %q) = %q, want it to mention %q", tt.code, tt.cause, got, w)
				}
			}
		})
	}
}
