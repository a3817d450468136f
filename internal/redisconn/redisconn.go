// Package redisconn opens the Redis deployment that holds callbacksim's queue
// and callback store: a single server, a Sentinel-managed master, a Redis
// Cluster, or, when none is configured, an embedded in-memory Redis.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/config"
)

// Conn is an open Redis deployment. Close releases the client and stops the
// embedded server, if any.
type Conn struct {
	Client   redis.UniversalClient
	embedded *miniredis.Miniredis
	dial     func() redis.UniversalClient // makes Client, and Another's
}

// Another returns a new client of the same deployment, with the same
// settings as Client and connections of its own: for a blocking command,
// which holds its connection, and which closing that client ends. The
// caller closes it, before Close.
func (c *Conn) Another() redis.UniversalClient { return c.dial() }

// Embedded reports whether Conn runs on the embedded in-memory Redis, where
// nothing persists across restarts.
func (c *Conn) Embedded() bool { return c.embedded != nil }

// Addr describes where Conn points, without credentials.
func (c *Conn) Addr() string {
	if c.embedded != nil {
		return "embedded:" + c.embedded.Addr()
	}
	switch o := c.Client.(type) {
	case *redis.Client:
		return o.Options().Addr
	case *redis.ClusterClient:
		return fmt.Sprintf("cluster%v", o.Options().Addrs)
	}
	return "redis"
}

// Open connects to the deployment described by cfg. It does not wait for
// Redis to answer: a server that is down now may be up later, and /readyz
// says which.
func Open(cfg config.Redis) (*Conn, error) {
	c := &Conn{}
	switch {
	case cfg.Mode == config.RedisSentinel:
		c.dial = func() redis.UniversalClient {
			return redis.NewFailoverClient(failFastFailover(&redis.FailoverOptions{
				MasterName:    cfg.MasterName,
				SentinelAddrs: cfg.Addrs,
				Password:      cfg.Password,
				DB:            cfg.DB,
			}))
		}
	case cfg.Mode == config.RedisCluster:
		c.dial = func() redis.UniversalClient {
			return redis.NewClusterClient(failFastCluster(&redis.ClusterOptions{
				Addrs:    cfg.Addrs,
				Password: cfg.Password,
			}))
		}
	case cfg.URL != "":
		if _, err := redis.ParseURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("redisconn: redis.url: %w", err)
		}
		c.dial = func() redis.UniversalClient {
			opts, _ := redis.ParseURL(cfg.URL) // parsed above
			return redis.NewClient(failFast(opts))
		}
	default:
		m := miniredis.NewMiniRedis()
		m.ClockTTL(true)
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("redisconn: start embedded redis: %w", err)
		}
		c.embedded = m
		c.dial = func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: m.Addr()}) }
	}
	c.Client = c.dial()
	return c, nil
}

// Ping reports whether Redis answers.
func (c *Conn) Ping(ctx context.Context) error {
	return c.Client.Ping(ctx).Err()
}

// Close closes the client and stops the embedded server.
func (c *Conn) Close() error {
	err := c.Client.Close()
	if c.embedded != nil {
		c.embedded.Close()
	}
	return err
}

// clientLogger sends go-redis's own messages (a failed dial, a pool error)
// to slog at debug level: the callers already report what failed, once.
type clientLogger struct{ log *slog.Logger }

func (l clientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// SetLogger routes go-redis's process-wide logger to log.
func SetLogger(log *slog.Logger) { redis.SetLogger(clientLogger{log}) }
