package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// RecoveryGrace is how long a lease must have been expired before its task is
// requeued. A live worker notices its own expired lease at its next
// heartbeat (within 5 s) and abandons the task; lease scores are whole
// seconds (up to 1 s early); the rest allows for 2 s of clock skew between
// worker hosts. So a task is never requeued while a live worker still
// works on it.
const RecoveryGrace = 8 * time.Second

// RecoveryInterval is how often a Recoverer looks for expired leases.
const RecoveryInterval = time.Second

// requeueScript moves every task of one queue whose lease score is at or
// below ARGV[1] from active back to pending, as asynq's Requeue does, and
// answers the ids it moved.
//
// KEYS: lease, active, pending. ARGV: cutoff (unix seconds), task key prefix.
var requeueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local moved = {}
for _, id in ipairs(ids) do
	redis.call('ZREM', KEYS[1], id)
	if redis.call('LREM', KEYS[2], 0, id) > 0 then
		redis.call('RPUSH', KEYS[3], id)
		redis.call('HSET', ARGV[2] .. id, 'state', 'pending')
		table.insert(moved, id)
	end
end
return moved
`)

// Recoverer puts back on the queue the delivery tasks of a worker that
// died (SIGKILL, OOM, a lost machine) in the middle of them, sooner than
// asynq itself does.
//
// asynq v0.26 leases every task it hands to a worker for 30 seconds
// (rdb.LeaseDuration, not configurable) and the worker's heartbeat extends
// the lease every 5 seconds. When a worker dies, its leases run out; asynq's
// own recoverer then moves the task back to the queue, but only once the
// lease has been expired for another 30 seconds (a clock-skew margin) and
// only on its fixed one-minute tick: 60 to 120 seconds after the crash. It
// also archives, instead of retrying, a task whose retry budget is zero,
// which for callbacksim means a manual resend or a scenario duplicate would
// be lost.
//
// A Recoverer checks every second and requeues a task once its lease has
// been expired for RecoveryGrace: about 35 to 40 seconds after the crash.
// It does what asynq's own Requeue does (the one a graceful shutdown uses), in one Lua
// script on asynq's keys, so it never races with a worker or with asynq's
// recoverer: whichever moves a task first wins and the other finds nothing.
// asynq's recoverer keeps running behind it.
type Recoverer struct {
	rdb   redis.UniversalClient
	queue string
	log   *slog.Logger
	now   func() time.Time
}

// NewRecoverer returns a Recoverer of the named asynq queue.
func NewRecoverer(rdb redis.UniversalClient, queue string, log *slog.Logger) *Recoverer {
	return &Recoverer{rdb: rdb, queue: queue, log: log, now: time.Now}
}

// keyPrefix is asynq's prefix of a queue's keys (base.QueueKeyPrefix).
func (r *Recoverer) keyPrefix() string { return "asynq:{" + r.queue + "}:" }

// Sweep requeues every task whose lease expired more than RecoveryGrace ago and
// returns their ids.
func (r *Recoverer) Sweep(ctx context.Context) ([]string, error) {
	p := r.keyPrefix()
	cutoff := r.now().Add(-RecoveryGrace).Unix()
	ids, err := requeueScript.Run(ctx, r.rdb, []string{p + "lease", p + "active", p + "pending"}, cutoff, p+"t:").StringSlice()
	if err != nil {
		return nil, fmt.Errorf("queue: sweep %s: %w: %w", r.queue, ErrUnavailable, err)
	}
	return ids, nil
}

// Run sweeps every Interval until ctx ends.
func (r *Recoverer) Run(ctx context.Context) {
	t := time.NewTicker(RecoveryInterval)
	defer t.Stop()
	failing := false
	for {
		ids, err := r.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			r.log.Warn("queue recovery: cannot look for abandoned tasks", "error", err)
			failing = true
		case err == nil:
			failing = false
			if len(ids) > 0 {
				r.log.Warn("queue recovery: requeued tasks whose worker stopped answering", "tasks", len(ids), "queue", r.queue)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
