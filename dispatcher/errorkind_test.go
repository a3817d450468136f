package dispatcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/hostile"
	"github.com/callbacksim/callbacksim/internal/store"
)

// realErrors provokes each network failure for real and returns the error
// Go gives, so that ErrorKind is tested on what it will meet, not on
// hand-built values only.
func realErrors(t *testing.T) map[string]error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := map[string]error{}

	_, errs["refused"] = net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(hostile.Refused(t), "http://"), "/callback"))

	reset := hostile.Reset(t)
	if c, err := net.Dial("tcp", hostOf(reset.URL)); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.WriteString(c, "POST /callback HTTP/1.1\r\nHost: x\r\n\r\n")
		_, errs["reset"] = c.Read(make([]byte, 1))
		c.Close()
	}

	silent := hostile.Silent(t)
	if c, err := net.Dial("tcp", hostOf(silent.URL)); err != nil {
		t.Fatal(err)
	} else {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, errs["read deadline"] = c.Read(make([]byte, 1))
		c.Close()
	}

	_, errs["dns"] = net.DefaultResolver.LookupHost(ctx, "nonexistent.invalid")

	badTLS := hostile.BadTLS(t)
	_, errs["untrusted certificate"] = tls.Dial("tcp", hostOf(badTLS.URL), &tls.Config{ServerName: "127.0.0.1"})
	plain := hostile.Status(t, http.StatusOK)
	_, errs["TLS to a plain HTTP server"] = tls.Dial("tcp", hostOf(plain.URL), &tls.Config{ServerName: "127.0.0.1"})

	_, errs["blocked"] = egress.Policy{}.Dialer().DialContext(ctx, "tcp", hostOf(plain.URL))
	for name, err := range errs {
		if err == nil {
			t.Fatalf("provoking %q gave no error", name)
		}
	}
	return errs
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	return u.Host
}

func TestCauseOf(t *testing.T) {
	real := realErrors(t)
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "http://m.example/cb?token=secret", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want Cause
	}{
		{"real refused connection", real["refused"], CauseRefused},
		{"real refused connection in a url.Error", wrap(real["refused"]), CauseRefused},
		{"real connection reset", real["reset"], CauseReset},
		{"real read deadline", real["read deadline"], CauseTimeout},
		{"real unresolvable name", wrap(real["dns"]), CauseDNS},
		{"real untrusted certificate", wrap(real["untrusted certificate"]), CauseTLS},
		{"real TLS to a plain server", wrap(real["TLS to a plain HTTP server"]), CauseTLS},
		{"real egress refusal", wrap(real["blocked"]), CauseBlocked},
		{"context deadline", wrap(context.DeadlineExceeded), CauseTimeout},
		{"os deadline", wrap(os.ErrDeadlineExceeded), CauseTimeout},
		{"wrong host name in the certificate", wrap(x509.HostnameError{Host: "shop.example"}), CauseTLS},
		{"expired certificate", wrap(x509.CertificateInvalidError{Reason: x509.Expired}), CauseTLS},
		{"unknown authority", wrap(x509.UnknownAuthorityError{}), CauseTLS},
		{"broken pipe", wrap(&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}), CauseReset},
		{"closed before an answer", wrap(io.EOF), CauseReset},
		{"answer cut short", wrap(io.ErrUnexpectedEOF), CauseReset},
		{"egress wins over a timeout around it", wrap(fmt.Errorf("%w: %w", context.DeadlineExceeded, egress.ErrBlocked)), CauseBlocked},
		{"malformed answer", wrap(errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0"`)), CauseNetwork},
		{"anything else", errors.New("something odd"), CauseNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := causeOf(tt.err); got != tt.want {
				t.Errorf("causeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestClassifyEveryStatusClass runs one code of every class through a
// classifier with success and stop codes in unusual classes.
func TestClassifyEveryStatusClass(t *testing.T) {
	c := Classifier{SuccessCodes: []int{200, 202, 304}, StopCodes: []int{406, 501}}
	tests := []struct {
		code  int
		want  store.Outcome
		class string
	}{
		{0, store.OutcomeRetry, "network"},
		{101, store.OutcomeRetry, "1xx"},
		{200, store.OutcomeDelivered, "2xx"},
		{202, store.OutcomeDelivered, "2xx"},
		{204, store.OutcomeRetry, "2xx"},
		{301, store.OutcomeRetry, "3xx"},
		{304, store.OutcomeDelivered, "3xx"},
		{404, store.OutcomeRetry, "4xx"},
		{406, store.OutcomeRejected, "4xx"},
		{500, store.OutcomeRetry, "5xx"},
		{501, store.OutcomeRejected, "5xx"},
		{600, store.OutcomeRetry, "network"},
	}
	for _, tt := range tests {
		got := c.Classify(tt.code, nil)
		want := Verdict{Outcome: tt.want, CodeClass: tt.class}
		if got != want {
			t.Errorf("Classify(%d) = %+v, want %+v", tt.code, got, want)
		}
	}
	for cause, want := range map[Cause]Verdict{
		CauseTimeout: {Outcome: store.OutcomeRetry, Cause: CauseTimeout, CodeClass: "timeout"},
		CauseBlocked: {Outcome: store.OutcomeFailed, Cause: CauseBlocked, CodeClass: "network"},
		CauseReset:   {Outcome: store.OutcomeRetry, Cause: CauseReset, CodeClass: "network"},
	} {
		var err error
		switch cause {
		case CauseTimeout:
			err = context.DeadlineExceeded
		case CauseBlocked:
			err = egress.ErrBlocked
		case CauseReset:
			err = io.EOF
		}
		// A transport error decides, whatever status came with it.
		if got := c.Classify(200, err); got != want {
			t.Errorf("Classify(200, %v) = %+v, want %+v", err, got, want)
		}
	}
}
