// Package idle lets the workers of an asynq server wait in Redis for work
// while their queue is empty, instead of polling for it.
//
// asynq v0.26 finds pending tasks by polling: when its dequeue script finds
// the queue empty, the processor sleeps about TaskCheckInterval and runs it
// again, a hundred times a second at worker.poll_interval's 10 ms. Client
// wraps the Redis client asynq's server uses: when that script finds the
// queue empty, Client blocks on the queue's pending list with
// BLMOVE pending pending LEFT LEFT, which returns as soon as any process
// pushes a task there (an enqueue, asynq's forwarder, the Waker, a
// recovery) and leaves the list as it was (it pops the newest task and
// pushes it back in the same place), then runs the script again. An idle
// worker thus costs two Redis commands per Wait instead of a hundred a
// second, and a task enqueued into an idle queue reaches a worker at once,
// without waiting for a poll.
package idle

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client is the Redis client of an asynq server whose workers wait for
// work (see the package doc). Every command but the dequeue script of its
// queue goes to the wrapped client unchanged.
//
// The zero value is not usable: call New.
type Client struct {
	redis.UniversalClient
	waiter redis.UniversalClient
	wait   time.Duration
	// asynq's keys of the queue, as its dequeue script takes them.
	pending, paused, active string

	stop sync.Once
}

var _ redis.UniversalClient = (*Client)(nil)

// New returns a Client for the asynq server of queue that sends commands
// through c and waits for work through waiter, a client of the same Redis
// with connections of its own (a blocked command holds one), for at most
// wait (whole seconds, at least one) at a time. Stop closes waiter.
func New(c, waiter redis.UniversalClient, queue string, wait time.Duration) *Client {
	prefix := "asynq:{" + queue + "}:" // asynq's internal/base.QueueKeyPrefix
	return &Client{
		UniversalClient: c, waiter: waiter, wait: max(wait.Truncate(time.Second), time.Second),
		pending: prefix + "pending", paused: prefix + "paused", active: prefix + "active",
	}
}

// EvalSha runs a script by its hash; asynq's dequeue script of an empty
// queue waits for work first (see the package doc).
func (c *Client) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.dequeue(ctx, keys, func() *redis.Cmd { return c.UniversalClient.EvalSha(ctx, sha1, keys, args...) })
}

// Eval runs a script, as EvalSha does: go-redis falls back to it when
// Redis does not know the script's hash yet.
func (c *Client) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.dequeue(ctx, keys, func() *redis.Cmd { return c.UniversalClient.Eval(ctx, script, keys, args...) })
}

// dequeue runs script, and when it is the dequeue of the queue and finds
// nothing, waits for a pending task and runs it once more.
func (c *Client) dequeue(ctx context.Context, keys []string, script func() *redis.Cmd) *redis.Cmd {
	cmd := script()
	if !c.isDequeue(keys) || !errors.Is(cmd.Err(), redis.Nil) || !c.Wait(ctx) {
		return cmd
	}
	return script()
}

// isDequeue tells asynq's dequeue script of the queue by its keys:
// pending, paused, active, lease (asynq's internal/rdb.Dequeue).
func (c *Client) isDequeue(keys []string) bool {
	return len(keys) == 4 && keys[0] == c.pending && keys[1] == c.paused && keys[2] == c.active
}

// Wait blocks until the queue's pending list holds a task, for at most the
// Client's wait, and reports whether it does. It returns false at once
// after Stop, and when Redis fails (asynq then polls as it would without
// a Client).
func (c *Client) Wait(ctx context.Context) bool {
	err := c.waiter.BLMove(ctx, c.pending, c.pending, "LEFT", "LEFT", c.wait).Err()
	return err == nil
}

// Stop ends a Wait in progress and makes later ones return at once, by
// closing the waiter's connections: call it before shutting the asynq
// server down, whose processor would otherwise finish its Wait first.
func (c *Client) Stop() {
	c.stop.Do(func() { _ = c.waiter.Close() })
}
