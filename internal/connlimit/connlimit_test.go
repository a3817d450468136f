package connlimit_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/connlimit"
)

// dialFrom connects to addr from the local IP from (127.0.0.x: Linux
// routes all of 127/8 to the loopback interface).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the server closed c: a read ends with EOF
// or a reset rather than timing out.
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestListenerLimitsEachClient(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan string, 10)
	l := connlimit.New(raw, 2, func(ip string) { refused <- ip }).(*connlimit.Listener)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := raw.Addr().String()

	dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr)
	first, second := <-accepted, <-accepted
	third := dialFrom(t, "127.0.0.2", addr)
	if ip := <-refused; ip != "127.0.0.2" {
		t.Fatalf("refused %s, want 127.0.0.2", ip)
	}
	if !closedByPeer(third) {
		t.Fatal("the third connection of 127.0.0.2 stays open; want it closed")
	}
	if n := l.Open("127.0.0.2"); n != 2 {
		t.Fatalf("127.0.0.2 holds %d connections, want 2", n)
	}

	// Another client is not affected.
	dialFrom(t, "127.0.0.1", addr)
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("127.0.0.1 was not accepted while 127.0.0.2 is at its limit")
	}

	// A closed connection gives its place back, once however often closed.
	first.Close()
	first.Close()
	dialFrom(t, "127.0.0.2", addr)
	select {
	case <-accepted:
	case ip := <-refused:
		t.Fatalf("%s refused after one of its connections closed", ip)
	}
	second.Close()
	if n := l.Open("127.0.0.2"); n != 1 {
		t.Fatalf("127.0.0.2 holds %d connections, want 1", n)
	}
}

func TestNoLimitIsTheListenerItself(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if l := connlimit.New(raw, 0, nil); l != raw {
		t.Fatalf("New(l, 0) = %T, want l itself", l)
	}
}
