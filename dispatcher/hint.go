package dispatcher

import (
	"fmt"
	"net/http"
	"net/url"
)

// hint returns a short troubleshooting hint for a failed attempt whose cause
// is recognisable, as CinetPay's own troubleshooting table gives them, or ""
// when it is not. code is the HTTP status of the answer (0 when none came),
// cause why no answer came (CauseTimeout, ...), header the
// answer's headers (nil when none came) and requestURL the URL the attempt
// was sent to, against which a relative Location is resolved.
//
// hint is pure: it reads nothing but its arguments.
func hint(code int, cause Cause, header http.Header, requestURL string) string {
	if code == 0 {
		return causeHint(cause)
	}
	if code >= 300 && code < 400 {
		return redirectHint(code, header.Get("Location"), requestURL)
	}
	switch code {
	case http.StatusUnauthorized:
		return "401: the route asks for credentials the gateway never sends; exempt the callback route from authentication and check the signature instead"
	case http.StatusForbidden:
		return "403: forbidden; no such route on the API gateway or proxy in front of your app, or a firewall/WAF rule blocks the simulator; allow POSTs to this exact path"
	case http.StatusNotFound:
		return "404: the callback URL is wrong (no route at that path); check the path, the HTTP method and any prefix your router adds"
	case http.StatusMethodNotAllowed:
		return "405: the route exists but not for this method; register the callback route for the method the gateway uses"
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
