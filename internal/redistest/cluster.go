package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters without replicas, started for a
// test.
type Cluster struct {
	Nodes []*Server
}

// Addrs returns the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Client returns a cluster client of c, closed when the test ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { cc.Close() })
	return cc
}

// StartCluster starts n redis-server processes (n >= 3) with cluster mode
// on, joins them with `redis-cli --cluster create` (every node a master,
// the slots split between them) and waits until every node reports the
// cluster ok. The nodes stop when the test ends.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if n < 3 {
		tb.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", n)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatalf("redistest: redis-cli is not installed (it comes with redis-server): %v", err)
	}
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, StartWith(tb, Options{Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-node-timeout", "5000",
		}}))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(tb, 15*time.Second)
	return c
}

// waitOK waits until every node sees the whole cluster: state ok, every
// slot assigned, every node known.
func (c *Cluster) waitOK(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	want := []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes)),
	}
	for _, node := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: node.Addr})
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			ok := err == nil
			for _, w := range want {
				ok = ok && strings.Contains(info, w)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				log, _ := os.ReadFile(filepath.Join(node.dir, "redis.log"))
				tb.Fatalf("redistest: cluster node %s not ready within %s (%v):\n%s\nits log:\n%s", node.Addr, timeout, err, info, log)
			}
			time.Sleep(20 * time.Millisecond)
		}
		rdb.Close()
	}
}
