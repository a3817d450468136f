package dispatcher

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/callbacksim/callbacksim/internal/store"
)

// answer is what hint knows of the deciding exchange of an attempt.
type answer struct {
	code    int           // the HTTP status, 0 when no answer came
	cause   Cause         // why no answer came (CauseTimeout, ...), else ""
	header  http.Header   // the answer's headers, nil when none came
	method  string        // the request's method: the gateway's
	url     string        // where it went, against which a relative Location is resolved
	outcome store.Outcome // what the attempt amounted to
}

// attemptHint is the troubleshooting hint of an attempt: why the deciding
// request failed, when the cause is recognisable, and why a probe before it
// (CinetPay's GET check) was not answered 200, even when the notification
// was delivered. "" when there is nothing to say.
func attemptHint(res result, cause Cause, outcome store.Outcome) string {
	var parts []string
	last := res.last()
	if outcome != store.OutcomeDelivered {
		a := answer{code: res.code(), cause: cause, method: last.req.Method, url: last.req.URL, outcome: outcome}
		if last.resp != nil {
			a.header = last.resp.Headers
		}
		if h := hint(a); h != "" {
			parts = append(parts, h)
		}
	}
	for _, e := range res.exchanges[:max(len(res.exchanges)-1, 0)] {
		if h := probeHint(e, last.req.Method); h != "" {
			parts = append(parts, h)
		}
	}
	return strings.Join(parts, "; also, ")
}

// probeHint says why a probe went wrong: CinetPay wants 200 to its GET
// check as well as to the notification, whose method is then.
func probeHint(e exchange, then string) string {
	p := e.req.Probe
	switch {
	case p == nil:
		return ""
	case e.resp != nil && e.err == nil && e.resp.Status == http.StatusOK:
		return ""
	case e.resp != nil && e.err == nil:
		return fmt.Sprintf("your %s answered %d to %s; it must answer 200 to %s and %s", p.Target, e.resp.Status, p.Name, e.req.Method, then)
	}
	return fmt.Sprintf("your %s gave no answer to %s (%s); it must answer 200 to %s and %s", p.Target, p.Name, describe(e.err), e.req.Method, then)
}

// hint returns a short troubleshooting hint for a failed exchange whose
// cause is recognisable, as CinetPay's own troubleshooting table gives
// them, or "" when it is not. Hints name both likely causes where a status
// has two (a 404 from a wrong URL or from a handler that found no such
// order), and fit the gateway's method.
//
// hint is pure: it reads nothing but its argument.
func hint(a answer) string {
	code := a.code
	if code == 0 {
		return causeHint(a.cause)
	}
	if code >= 300 && code < 400 {
		return redirectHint(code, a.header.Get("Location"), a.url)
	}
	method := cmp.Or(a.method, http.MethodPost)
	switch code {
	case http.StatusUnauthorized:
		return "401: either the route asks for credentials the gateway never sends (exempt the callback route from authentication), " +
			"or your handler rejected the signature (check the key it verifies with, and how it builds the signed string)"
	case http.StatusForbidden:
		return fmt.Sprintf("403: forbidden; no such route on the API gateway or proxy in front of your app, or a firewall/WAF rule blocks the simulator; allow %ss to this exact path", method)
	case http.StatusNotFound:
		h := "404: either the callback URL is wrong (no route at that path: check the path, the HTTP method and any prefix your router adds), " +
			"or your handler answered 404 because it found no such order (look it up by the gateway's ids, and answer 200 once handled)"
		switch a.outcome {
		case store.OutcomeRetry:
			h += "; a 404 counts as a failure, so the gateway retries it"
		case store.OutcomeFailed:
			h += "; a 404 counts as a failure: the gateway retries it while retries are left, and none follows this attempt"
		}
		return h
	case http.StatusMethodNotAllowed:
		return fmt.Sprintf("405: the route exists but not for %s; register the callback route for %s, the method this gateway uses", method, method)
	case http.StatusRequestEntityTooLarge:
		return "413: the body is larger than your server accepts; raise its body size limit for this route"
	case 419:
		return "419: Laravel's CSRF check rejected the POST; exempt the callback route from CSRF verification (VerifyCsrfToken $except, or validateCsrfTokens(except: [...]))"
	case http.StatusTooManyRequests:
		return "429: your rate limiter throttled the gateway; exempt the callback route from rate limiting"
	case http.StatusInternalServerError:
		return "500: your handler failed; look at your application's logs for the exception"
	case http.StatusBadGateway:
		return "502: the proxy in front of your app got no valid answer from it; is the application process running?"
	case http.StatusServiceUnavailable:
		return "503: your server is unavailable (down for maintenance or overloaded)"
	case http.StatusGatewayTimeout:
		return "504: an upstream timed out; the proxy in front of your app waited too long for it; answer quickly and do slow work after answering"
	}
	return ""
}

func causeHint(cause Cause) string {
	switch cause {
	case CauseRefused:
		return "connection refused: nothing listens at that host and port, or it is not reachable from the simulator (localhost inside a container is the container itself)"
	case CauseTimeout:
		return "timeout: no complete answer within the provider's timeout; answer at once and do slow work after answering"
	case CauseTLS:
		return "TLS error: the certificate is not valid for this host, expired, or not signed by a trusted authority; fix the certificate or use http for local tests"
	case CauseDNS:
		return "DNS error: the host name does not resolve from the simulator; check its spelling, or use an address the simulator can reach"
	case CauseReset:
		return "connection reset: the server closed the connection without a complete answer; is a proxy or your app crashing on this request?"
	case CauseBlocked:
		return "blocked: the egress policy forbids this address (metadata, link-local, in egress.deny_cidrs, or private with egress.allow_private off and outside egress.allow_cidrs)"
	}
	return ""
}

func redirectHint(code int, location, requestURL string) string {
	if location == "" {
		return fmt.Sprintf("%d: a redirect without a Location; redirects are not followed, so point the callback URL at the final address", code)
	}
	target := location
	if base, err := url.Parse(requestURL); err == nil {
		if loc, err := url.Parse(location); err == nil {
			target = base.ResolveReference(loc).String()
		}
	}
	return fmt.Sprintf("%d: the URL moved to %s; redirects are not followed, so set the callback URL to the final one (often a missing or extra trailing slash, or http vs https)", code, target)
}
