package store

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher coalesces the pipelines of concurrent callers: while a round trip
// is in flight, the commands that arrive wait, and go out together in the
// next one. A caller alone pays one round trip, as with a pipeline of its
// own; fifty workers each recording an attempt share a few, and each round
// trip saved is a write, a read and a wake-up saved in this process and in
// Redis (BENCHMARKS.md has the figures).
//
// No goroutine runs while nothing is queued: the first caller to find no
// flusher starts one, which exits when the queue is empty.
type batcher struct {
	rdb redis.UniversalClient

	mu       sync.Mutex
	pending  []*batchCall
	flushing int // flushers running
}

// maxFlushers bounds the round trips in flight at once; maxBatch bounds
// the callers in one. One flusher makes the largest batches, and measured
// best (BENCHMARKS.md, store batching).
const (
	maxFlushers = 1
	maxBatch    = 128
)

type batchCall struct {
	queue func(p redis.Pipeliner)
	cmds  []redis.Cmder
	err   error
	done  chan struct{}
}

// pipelined queues the commands queue adds to p, runs them in a shared
// pipeline, and returns them with the first error among them (redis.Nil
// included), as redis.Pipelined does. If ctx ends first, pipelined returns
// its error, and the commands may still run.
func (b *batcher) pipelined(ctx context.Context, queue func(p redis.Pipeliner)) ([]redis.Cmder, error) {
	cmds, _, err := b.call(ctx, queue)
	return cmds, err
}

// call is pipelined, and tells whether the round trip completed (false: ctx
// ended first, and the commands may still run).
func (b *batcher) call(ctx context.Context, queue func(p redis.Pipeliner)) ([]redis.Cmder, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err // queue nothing for a caller already gone
	}
	c := &batchCall{queue: queue, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.flushing < maxFlushers {
		b.flushing++
		go b.flush()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.cmds, true, c.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// flush sends the queued calls until none is left.
func (b *batcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxBatch)
		if n == 0 {
			b.flushing--
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		if len(b.pending) == 0 {
			b.pending = nil // let the backing array go
		}
		b.mu.Unlock()
		b.run(batch)
	}
}

func (b *batcher) run(batch []*batchCall) {
	p := b.rdb.Pipeline()
	ends := make([]int, len(batch))
	for i, c := range batch {
		c.queue(p)
		ends[i] = p.Len()
	}
	// The commands carry their own errors; Exec's is the first of them.
	cmds, _ := p.Exec(context.Background())
	start := 0
	for i, c := range batch {
		c.cmds = cmds[start:ends[i]:ends[i]]
		start = ends[i]
		for _, cmd := range c.cmds {
			if err := cmd.Err(); err != nil {
				c.err = err
				break
			}
		}
		close(c.done)
	}
}

// pipelinedScripts is batch.pipelined for commands that run script by its
// digest (EVALSHA): its text, up to a KiB, would otherwise go to Redis and
// be hashed there at every call. When Redis does not know the script (it
// restarted, or its scripts were flushed), the script is loaded and the
// commands run again: those besides the script must not mind running twice.
func (s *Store) pipelinedScripts(ctx context.Context, script *redis.Script, queue func(p redis.Pipeliner)) ([]redis.Cmder, error) {
	cmds, err := s.batch.pipelined(ctx, queue)
	if !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return cmds, err
	}
	if err := script.Load(ctx, s.rdb).Err(); err != nil {
		return nil, err
	}
	return s.batch.pipelined(ctx, queue)
}
