package reliability_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// slowSim is a simulator with short bounds on slow clients.
func slowSim(t *testing.T, bodyTimeout time.Duration, perClient int) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.HTTP.BodyTimeout, cfg.HTTP.MaxConnsPerClient = bodyTimeout, perClient
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

// trickle connects from the local address from, sends the headers of a
// POST to path announcing a 1,000-byte body, and then one byte every 50 ms
// until the connection ends. The channel it returns yields the status line
// the simulator answered ("" if it just closed the connection).
func trickle(t *testing.T, sim *simtest.Sim, from, path, contentType string) <-chan string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(sim.URL, "http://"))
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{", path, strings.TrimPrefix(sim.URL, "http://"), contentType)
	go func() {
		for {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	out := make(chan string, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			line = "still open"
		}
		out <- strings.TrimSpace(line)
	}()
	return out
}

// TestSlowBodiesAreCutOff trickles a body into each endpoint that reads
// one before it checks credentials: each is cut off within the bound.
func TestSlowBodiesAreCutOff(t *testing.T) {
	const bound = 400 * time.Millisecond
	sim := slowSim(t, bound, 0)
	for path, want := range map[string]string{
		"/login":                "HTTP/1.1 400", // the form cannot be read: the sign-in page says so
		"/v2/payment":           "HTTP/1.1 408",
		"/v2/simulate":          "HTTP/1.1 408",
		"/centili/simulate":     "HTTP/1.1 408",
		"/cinetpay/payment/tok": "HTTP/1.1 408",
	} {
		ct := "application/json"
		if path == "/login" || strings.HasPrefix(path, "/cinetpay/") {
			ct = "application/x-www-form-urlencoded"
		}
		start := time.Now()
		got := <-trickle(t, sim, "127.0.0.1", path, ct)
		took := time.Since(start)
		if !strings.HasPrefix(got, want) || took < bound || took > bound+time.Second {
			t.Errorf("%s: %q after %s, want %s after %s to %s", path, got, took.Round(time.Millisecond), want, bound, bound+time.Second)
		}
	}
}

// TestSlowClientLeavesTheAPIToOthers opens many slow connections from one
// client (127.0.0.2): it keeps only max_conns_per_client of them, each cut
// off at the body bound, and another client (127.0.0.1) is answered
// throughout.
func TestSlowClientLeavesTheAPIToOthers(t *testing.T) {
	const perClient = 4
	sim := slowSim(t, 2*time.Second, perClient)
	var answers []<-chan string
	for range 30 {
		answers = append(answers, trickle(t, sim, "127.0.0.2", "/v2/simulate", "application/json"))
	}
	closed := 0
	deadline := time.After(time.Second)
	for closed < 30-perClient {
		select {
		case <-deadline:
			t.Fatalf("%d of 30 slow connections closed within 1s, want %d (the rest held, at most %d)", closed, 30-perClient, perClient)
		default:
		}
		for i, ch := range answers {
			select {
			case line := <-ch:
				if line != "" {
					t.Fatalf("a connection over the limit got %q, want it closed", line)
				}
				closed++
				answers[i] = nil
			default:
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := sim.Do(http.MethodGet, "/healthz", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("another client while 127.0.0.2 holds its connections: %d", r.Status)
	}
	for _, ch := range answers {
		if ch != nil {
			if got := <-ch; !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Errorf("a held slow connection ended with %q, want 408", got)
			}
		}
	}
}
