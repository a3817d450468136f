package redisconn_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/redisconn"
	"github.com/callbacksim/callbacksim/internal/redistest"
)

// TestFailsFastWhileRedisIsDown: with Redis stopped, a command fails in
// well under a second (go-redis's defaults take about 1.7 s), and once
// Redis is back the same client works again.
func TestFailsFastWhileRedisIsDown(t *testing.T) {
	r := redistest.Start(t)
	conn, err := redisconn.Open(config.Redis{Mode: config.RedisSingle, URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	r.Stop()
	for i := range 3 {
		start := time.Now()
		err := conn.Ping(ctx)
		took := time.Since(start)
		if err == nil {
			t.Fatal("Ping with Redis stopped succeeded")
		}
		if took > 500*time.Millisecond {
			t.Errorf("Ping %d with Redis stopped took %s, want well under a second", i+1, took)
		}
	}
	r.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for conn.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the client did not reconnect within 5s of Redis coming back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestURLOptionsWin(t *testing.T) {
	conn, err := redisconn.Open(config.Redis{Mode: config.RedisSingle, URL: "redis://127.0.0.1:6379/0?dial_timeout=3s&max_retries=4&read_timeout=7s"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	o := conn.Client.(*redis.Client).Options()
	if o.DialTimeout != 3*time.Second || o.MaxRetries != 4 || o.ReadTimeout != 7*time.Second {
		t.Errorf("options from the URL = dial %s, retries %d, read %s; want 3s, 4, 7s", o.DialTimeout, o.MaxRetries, o.ReadTimeout)
	}
	if o.WriteTimeout != redisconn.WriteTimeout || o.DialerRetries != redisconn.DialerRetries {
		t.Errorf("unset options = write %s, dialer retries %d; want the fail-fast %s, %d", o.WriteTimeout, o.DialerRetries, redisconn.WriteTimeout, redisconn.DialerRetries)
	}
}
