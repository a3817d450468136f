package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// connPool is the benchmark's HTTP/1.1 client, built the way load
// generators (wrk, hey) are so that the clients take as little of the
// machine as they can from what they measure: kept-alive connections, each
// carrying one request at a time, written and read by the calling goroutine
// with net/http's own Request.Write and ReadResponse. net/http's Transport
// adds two goroutines per connection and a hand-off between them per
// request.
type connPool struct {
	addr string // host:port

	mu   sync.Mutex
	idle []*rawConn
}

type rawConn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// maxIdle is how long a connection may sit idle and still be used: well
// under the simulator's IdleTimeout, so that the server never closes one
// as the pool hands it out.
const maxIdle = time.Minute

func (p *connPool) get() (*rawConn, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(c.lastUsed) < maxIdle {
			p.mu.Unlock()
			return c, nil
		}
		c.c.Close()
	}
	p.mu.Unlock()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &rawConn{c: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}, nil
}

func (p *connPool) put(c *rawConn) {
	c.lastUsed = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// close closes the idle connections.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.c.Close()
	}
	p.idle = nil
}

// do sends req and returns the answer's status and body. A connection that
// fails, or that the server means to close, is not used again.
func (p *connPool) do(req *http.Request) (int, []byte, error) {
	c, err := p.get()
	if err != nil {
		return 0, nil, err
	}
	if deadline, ok := req.Context().Deadline(); ok {
		_ = c.c.SetDeadline(deadline)
	} else {
		_ = c.c.SetDeadline(time.Time{})
	}
	status, body, keep, err := c.roundTrip(req)
	if err != nil || !keep {
		c.c.Close()
	} else {
		p.put(c)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("bench: %s %s: %w", req.Method, req.URL.Path, err)
	}
	return status, body, nil
}

func (c *rawConn) roundTrip(req *http.Request) (status int, body []byte, keep bool, err error) {
	if err := req.Write(c.bw); err != nil {
		return 0, nil, false, err
	}
	if err := c.bw.Flush(); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return 0, nil, false, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, false, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, body, !resp.Close, nil
}
