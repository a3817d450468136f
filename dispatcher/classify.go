package dispatcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Cause names why no answer came; an attempt's error field starts with it
// ("timeout: ...").
type Cause string

// Causes of a failed exchange.
const (
	CauseTimeout Cause = "timeout"
	CauseRefused Cause = "refused"
	CauseReset   Cause = "reset"
	CauseDNS     Cause = "dns"
	CauseTLS     Cause = "tls"
	CauseBlocked Cause = "blocked"
	CauseNetwork Cause = "network"
)

// Verdict is what one attempt's answer means.
type Verdict struct {
	// Outcome is delivered, rejected or retry. The caller turns retry into
	// failed when no retry is left.
	Outcome store.Outcome
	// Cause is why no answer came (CauseTimeout, ...), else "".
	Cause Cause
	// CodeClass is the metric label: 2xx..5xx, timeout or network.
	CodeClass string
}

// Classifier turns a merchant's answer into a Verdict, by the provider's
// success and stop codes. The zero value counts nothing as delivered.
type Classifier struct {
	SuccessCodes []int
	StopCodes    []int
}

// Classify decides what an answer with HTTP status code (0 when none came)
// and transport error err means. It is the one place that does.
func (c Classifier) Classify(code int, err error) Verdict {
	if err != nil {
		cause := causeOf(err)
		v := Verdict{Outcome: store.OutcomeRetry, Cause: cause, CodeClass: "network"}
		switch cause {
		case CauseTimeout:
			v.CodeClass = "timeout"
		case CauseBlocked:
			v.Outcome = store.OutcomeFailed // never retried: the target is forbidden
		}
		return v
	}
	v := Verdict{Outcome: store.OutcomeRetry, CodeClass: codeClass(code)}
	switch {
	case slices.Contains(c.SuccessCodes, code):
		v.Outcome = store.OutcomeDelivered
	case slices.Contains(c.StopCodes, code):
		v.Outcome = store.OutcomeRejected
	}
	return v
}

func codeClass(code int) string {
	if code < 100 || code > 599 {
		return "network"
	}
	return strconv.Itoa(code/100) + "xx"
}

// causeOf names the cause of a failed exchange: a timeout, a refused or
// reset connection, a name that does not resolve, a TLS failure, a
// destination the egress policy forbids, or another network error.
func causeOf(err error) Cause {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, egress.ErrBlocked):
		return CauseBlocked
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.As(err, &dnsErr):
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr),
		errors.As(err, &invErr), errors.As(err, &recErr):
		return CauseTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return CauseReset
	}
	return CauseNetwork
}
