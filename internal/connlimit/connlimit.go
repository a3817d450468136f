// Package connlimit caps the connections one client IP address holds open
// on a listener, so that one client's slow or idle connections cannot use
// up the process's file descriptors and lock every other client out.
package connlimit

import (
	"net"
	"sync"
)

// Listener is a net.Listener that closes, as soon as it accepts it, a
// connection whose client IP already holds Max open ones. Build it with
// New.
type Listener struct {
	net.Listener
	max     int
	refused func(ip string) // nil: refuse silently

	mu   sync.Mutex
	open map[string]int
}

// New wraps l: at most max connections per client IP (max <= 0: no limit,
// l itself is returned). refused, if not nil, is told of each connection
// closed for being over the limit.
func New(l net.Listener, max int, refused func(ip string)) net.Listener {
	if max <= 0 {
		return l
	}
	return &Listener{Listener: l, max: max, refused: refused, open: map[string]int{}}
}

// Accept returns the next connection within its client's limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		if l.take(ip) {
			return &conn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused(ip)
		}
	}
}

// Open is how many connections ip holds open.
func (l *Listener) Open(ip string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip]
}

func (l *Listener) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		return false
	}
	l.open[ip]++
	return true
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func clientIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// conn gives its client's place back once, when it is closed.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
