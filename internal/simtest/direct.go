package simtest

import (
	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// Direct returns a store and a queue on the simulator's own Redis, for tests
// that seed many records or queue tasks without going through the HTTP API.
// The simulator must run on a Redis the test started (Start does).
func (s *Sim) Direct() (*store.Store, *queue.Queue) {
	s.tb.Helper()
	if s.Redis == nil {
		s.tb.Fatalf("simtest: Direct needs a simulator on a test's redis-server, not the embedded one")
	}
	rdb := s.Redis.Client()
	st := store.New(rdb, s.Config.Retention)
	client := asynq.NewClientFromRedisClient(rdb)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	return st, queue.New(st, client, inspector, scheduler.NewTiming(s.Config.Worker.PollInterval))
}
