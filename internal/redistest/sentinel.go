package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redisproc"
)

// Sentinel is a Redis Sentinel process (redis-server --sentinel) started
// for a test, monitoring one master.
type Sentinel struct {
	Addr       string // host:port
	MasterName string
	dir        string
	cmd        *exec.Cmd
}

// StartSentinel starts a sentinel that monitors master under name, with a
// quorum of 1, and waits until it answers the master's address. It stops
// when the test ends.
func StartSentinel(tb testing.TB, master *Server, name string) *Sentinel {
	tb.Helper()
	host, port, err := net.SplitHostPort(master.Addr)
	if err != nil {
		tb.Fatalf("redistest: master address %q: %v", master.Addr, err)
	}
	s := &Sentinel{
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(tb))),
		MasterName: name,
		dir:        tb.TempDir(),
	}
	_, own, _ := net.SplitHostPort(s.Addr)
	// Sentinel rewrites its configuration file, so it gets one of its own.
	conf := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s %s %s 1\n",
		own, s.dir, filepath.Join(s.dir, "sentinel.log"), name, host, port)
	confPath := filepath.Join(s.dir, "sentinel.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatalf("redistest: write sentinel.conf: %v", err)
	}
	if s.cmd, err = redisproc.Run(s.Addr, "", filepath.Join(s.dir, "sentinel.log"), confPath, "--sentinel"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)

	rdb := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		addr, err := rdb.GetMasterAddrByName(context.Background(), name).Result()
		if err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == master.Addr {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
			tb.Fatalf("redistest: sentinel on %s does not name master %s (%v %v); its log:\n%s", s.Addr, master.Addr, addr, err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the sentinel. Stopping a stopped sentinel does nothing.
func (s *Sentinel) Stop() {
	redisproc.Kill(s.cmd)
	s.cmd = nil
}
