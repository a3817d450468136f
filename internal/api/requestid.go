package api

import (
	"crypto/rand"
	"regexp"
)

// RequestIDHeader carries a request's id: taken from the request when it
// is a valid one, else made up, and returned in the answer and logged with
// the request, so that a client's log and the simulator's meet.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id.
const maxRequestIDLen = 128

// validRequestID is what an incoming request id may be made of: UUIDs,
// ULIDs, hex and the ids of common proxies, nothing that could forge a log
// line or smuggle markup.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// requestID is the incoming id when it is valid, else a new random one.
func requestID(incoming string) string {
	if len(incoming) <= maxRequestIDLen && validRequestID.MatchString(incoming) {
		return incoming
	}
	return rand.Text()
}
