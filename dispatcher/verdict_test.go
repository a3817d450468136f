package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/store"
)

func TestClassify(t *testing.T) {
	qris := Classifier{SuccessCodes: []int{200}}
	centili := Classifier{SuccessCodes: []int{200}, StopCodes: []int{406}}
	lenient := Classifier{SuccessCodes: []int{200, 201, 202, 204}, StopCodes: []int{410}}
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "http://m.example/cb?secret=x", Err: err} }
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name  string
		c     Classifier
		code  int
		err   error
		want  store.Outcome
		cause Cause
		class string
	}{
		{"200 is delivered", qris, 200, nil, store.OutcomeDelivered, "", "2xx"},
		{"201 is not a success code by default", qris, 201, nil, store.OutcomeRetry, "", "2xx"},
		{"204 is not a success code for Centili", centili, 204, nil, store.OutcomeRetry, "", "2xx"},
		{"configured 204 is delivered", lenient, 204, nil, store.OutcomeDelivered, "", "2xx"},
		{"100 retries", qris, 100, nil, store.OutcomeRetry, "", "1xx"},
		{"301 redirect retries", qris, 301, nil, store.OutcomeRetry, "", "3xx"},
		{"302 redirect retries", qris, 302, nil, store.OutcomeRetry, "", "3xx"},
		{"400 retries", qris, 400, nil, store.OutcomeRetry, "", "4xx"},
		{"404 retries", qris, 404, nil, store.OutcomeRetry, "", "4xx"},
		{"406 retries without a stop code", qris, 406, nil, store.OutcomeRetry, "", "4xx"},
		{"406 is Centili's stop code", centili, 406, nil, store.OutcomeRejected, "", "4xx"},
		{"configured 410 stops", lenient, 410, nil, store.OutcomeRejected, "", "4xx"},
		{"429 retries", qris, 429, nil, store.OutcomeRetry, "", "4xx"},
		{"500 retries", qris, 500, nil, store.OutcomeRetry, "", "5xx"},
		{"503 retries", centili, 503, nil, store.OutcomeRetry, "", "5xx"},
		{"599 retries", qris, 599, nil, store.OutcomeRetry, "", "5xx"},
		{"context deadline is a timeout", qris, 0, urlErr(context.DeadlineExceeded), store.OutcomeRetry, CauseTimeout, "timeout"},
		{"i/o deadline is a timeout", qris, 0, urlErr(os.ErrDeadlineExceeded), store.OutcomeRetry, CauseTimeout, "timeout"},
		{"refused connection", qris, 0, urlErr(opErr(syscall.ECONNREFUSED)), store.OutcomeRetry, CauseRefused, "network"},
		{"reset connection", qris, 0, urlErr(opErr(syscall.ECONNRESET)), store.OutcomeRetry, CauseReset, "network"},
		{"connection closed before an answer", qris, 0, urlErr(io.EOF), store.OutcomeRetry, CauseReset, "network"},
		{"answer cut short", qris, 0, urlErr(io.ErrUnexpectedEOF), store.OutcomeRetry, CauseReset, "network"},
		{"name does not resolve", qris, 0, urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "shop.invalid", IsNotFound: true}}), store.OutcomeRetry, CauseDNS, "network"},
		{"forbidden destination is not retried", qris, 0, urlErr(fmt.Errorf("dial: %w", egress.ErrBlocked)), store.OutcomeFailed, CauseBlocked, "network"},
		{"anything else is a network error", qris, 0, urlErr(errors.New("malformed HTTP response")), store.OutcomeRetry, CauseNetwork, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.Classify(tt.code, tt.err)
			want := Verdict{Outcome: tt.want, Cause: tt.cause, CodeClass: tt.class}
			if got != want {
				t.Errorf("Classify(%d, %v) = %+v, want %+v", tt.code, tt.err, got, want)
			}
		})
	}
}

// Every label a verdict can carry is one the metrics create at start-up.
func TestVerdictLabelsAreBounded(t *testing.T) {
	c := Classifier{SuccessCodes: []int{200}, StopCodes: []int{406}}
	var verdicts []Verdict
	for code := 0; code <= 700; code++ {
		verdicts = append(verdicts, c.Classify(code, nil))
	}
	for _, err := range []error{context.DeadlineExceeded, egress.ErrBlocked, io.EOF, errors.New("odd")} {
		verdicts = append(verdicts, c.Classify(0, err))
	}
	for _, v := range verdicts {
		if !slices.Contains(metrics.CodeClasses, v.CodeClass) || !slices.Contains(metrics.Outcomes, string(v.Outcome)) {
			t.Errorf("verdict %+v has a label outside metrics.CodeClasses %v or metrics.Outcomes %v", v, metrics.CodeClasses, metrics.Outcomes)
		}
	}
	for _, o := range []store.Outcome{store.OutcomeDelivered, store.OutcomeRetry, store.OutcomeRejected, store.OutcomeFailed} {
		if !slices.Contains(metrics.Outcomes, string(o)) {
			t.Errorf("outcome %s is not in metrics.Outcomes", o)
		}
	}
}
