package dispatcher

import (
	"context"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// BenchmarkClassify measures the verdict on the answers an attempt most
// often gets: a success, a retried status, and the transport errors the
// classifier has to unwrap.
func BenchmarkClassify(b *testing.B) {
	c := Classifier{SuccessCodes: []int{200}, StopCodes: []int{406}}
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "http://m.example/cb", Err: err} }
	cases := []struct {
		name string
		code int
		err  error
	}{
		{"200", 200, nil},
		{"500", 500, nil},
		{"406", 406, nil},
		{"timeout", 0, urlErr(context.DeadlineExceeded)},
		{"refused", 0, urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})},
		{"reset", 0, urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Classify(tc.code, tc.err)
			}
		})
	}
}
