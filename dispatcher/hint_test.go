package dispatcher

import (
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

func TestHint(t *testing.T) {
	const target = "https://shop.example/api/payment-callback"
	loc := func(v string) http.Header { return http.Header{"Location": {v}} }
	tests := []struct {
		name    string
		code    int
		cause   Cause
		header  http.Header
		method  string        // "" = POST
		outcome store.Outcome // "" = retry
		want    []string      // substrings the hint must hold; nil: no hint
		never   []string      // substrings it must not hold
	}{
		{"404: a wrong URL or an unknown order, and retried", 404, "", nil, "", "",
			[]string{"404", "URL is wrong", "found no such order", "retries it"}, nil},
		{"404 on the last attempt: no retry follows", 404, "", nil, "", store.OutcomeFailed,
			[]string{"404", "URL is wrong", "no such order", "none follows this attempt"}, []string{"so the gateway retries it"}},
		{"404 as a stop code is not retried", 404, "", nil, "", store.OutcomeRejected,
			[]string{"404", "URL is wrong", "no such order"}, []string{"retries"}},
		{"419 Laravel CSRF", 419, "", nil, "", "", []string{"Laravel", "CSRF", "exempt"}, nil},
		{"403 no route on the API gateway", 403, "", nil, "", "", []string{"403", "API gateway", "allow POSTs"}, nil},
		{"403 to Centili's GET: allow GETs", 403, "", nil, http.MethodGet, "", []string{"403", "allow GETs"}, []string{"POST"}},
		{"504 upstream timeout", 504, "", nil, "", "", []string{"504", "upstream timed out"}, nil},
		{"401: route authentication or a rejected signature", 401, "", nil, "", "",
			[]string{"401", "credentials", "authentication", "rejected the signature"}, nil},
		{"405 names the gateway's method", 405, "", nil, http.MethodGet, "", []string{"405", "for GET"}, []string{"POST"}},
		{"429 rate limited", 429, "", nil, "", "", []string{"rate limit"}, nil},
		{"502 app down behind proxy", 502, "", nil, "", "", []string{"502", "proxy"}, nil},
		{"500 handler failed", 500, "", nil, "", "", []string{"logs"}, nil},
		{"301 absolute Location", 301, "", loc("https://shop.example/api/payment-callback/"), "", "",
			[]string{"301", "moved to https://shop.example/api/payment-callback/", "final one"}, nil},
		{"302 relative Location resolved", 302, "", loc("/v2/callback"), "", "",
			[]string{"302", "moved to https://shop.example/v2/callback"}, nil},
		{"308 scheme change", 308, "", loc("https://shop.example/api/payment-callback"), "", "",
			[]string{"308", "https://shop.example/api/payment-callback"}, nil},
		{"307 without Location", 307, "", nil, "", "", []string{"307", "without a Location"}, nil},
		{"refused", 0, CauseRefused, nil, "", "", []string{"nothing listens", "not reachable from the simulator"}, nil},
		{"timeout", 0, CauseTimeout, nil, "", "", []string{"timeout"}, nil},
		{"TLS", 0, CauseTLS, nil, "", "", []string{"TLS", "certificate"}, nil},
		{"DNS", 0, CauseDNS, nil, "", "", []string{"DNS", "does not resolve"}, nil},
		{"reset", 0, CauseReset, nil, "", "", []string{"reset"}, nil},
		{"blocked by egress policy", 0, CauseBlocked, nil, "", "", []string{"egress"}, nil},
		{"other network error: no hint", 0, CauseNetwork, nil, "", "", nil, nil},
		{"406 stop code: no hint", 406, "", nil, "", store.OutcomeRejected, nil, nil},
		{"400 unknown cause: no hint", 400, "", nil, "", "", nil, nil},
		{"201 not a failure cause: no hint", 201, "", nil, "", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome := tt.outcome
			if outcome == "" {
				outcome = store.OutcomeRetry
			}
			got := hint(answer{code: tt.code, cause: tt.cause, header: tt.header, method: tt.method, url: target, outcome: outcome})
			if tt.want == nil {
				if got != "" {
					t.Errorf("hint(%d, %q) = %q, want no hint", tt.code, tt.cause, got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("hint(%d, %q) = %q, want it to mention %q", tt.code, tt.cause, got, w)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(got, n) {
					t.Errorf("hint(%d, %q) = %q, want it not to say %q", tt.code, tt.cause, got, n)
				}
			}
		})
	}
}

// TestAttemptHintPing: CinetPay's GET check answered anything but 200 puts
// a hint on the attempt even when the POST delivered it, and a failed POST
// gets both hints.
func TestAttemptHintPing(t *testing.T) {
	const notify = "https://shop.example/cinetpay/notify"
	probe := &payloads.Probe{Target: "notify_url", Name: "CinetPay's GET check"}
	ping := func(status int, err error) exchange {
		e := exchange{req: payloads.Request{Method: http.MethodGet, URL: notify, Probe: probe}, err: err}
		if err == nil {
			e.resp = &store.Response{Status: status}
		}
		return e
	}
	post := func(status int) exchange {
		return exchange{req: payloads.Request{Method: http.MethodPost, URL: notify}, resp: &store.Response{Status: status}}
	}
	tests := []struct {
		name    string
		res     result
		outcome store.Outcome
		want    string // exact; "" = no hint
	}{
		{"ping 200, POST 200: nothing to say", result{[]exchange{ping(200, nil), post(200)}}, store.OutcomeDelivered, ""},
		{"ping 404, POST 200: the hint, though delivered", result{[]exchange{ping(404, nil), post(200)}}, store.OutcomeDelivered,
			"your notify_url answered 404 to CinetPay's GET check; it must answer 200 to GET and POST"},
		{"ping 204 is not 200 either", result{[]exchange{ping(204, nil), post(200)}}, store.OutcomeDelivered,
			"your notify_url answered 204 to CinetPay's GET check; it must answer 200 to GET and POST"},
		{"ping refused", result{[]exchange{ping(0, syscall.ECONNREFUSED), post(200)}}, store.OutcomeDelivered,
			"your notify_url gave no answer to CinetPay's GET check (connection refused); it must answer 200 to GET and POST"},
		{"ping 405 and POST 500: both", result{[]exchange{ping(405, nil), post(500)}}, store.OutcomeRetry,
			"500: your handler failed; look at your application's logs for the exception; also, " +
				"your notify_url answered 405 to CinetPay's GET check; it must answer 200 to GET and POST"},
		{"a request without probe says nothing of itself", result{[]exchange{post(200)}}, store.OutcomeDelivered, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attemptHint(tt.res, "", tt.outcome); got != tt.want {
				t.Errorf("attemptHint =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
	if got := attemptHint(result{}, CauseNetwork, store.OutcomeFailed); got != "" {
		t.Errorf("attemptHint(no exchange) = %q", got)
	}
}
