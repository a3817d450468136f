package store

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redistest"
)

// incrScript adds ARGV[1] to KEYS[1] and answers the sum.
var incrScript = redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)

func TestScriptClient(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client()
	s := New(rdb, time.Hour)
	c := s.ScriptClient()
	ctx := context.Background()

	t.Run("concurrent scripts each get their own answer, loaded on first use", func(t *testing.T) {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := "sc" + strconv.Itoa(i)
				n, err := incrScript.Run(ctx, c, []string{key}, i+1).Int()
				if err != nil || n != i+1 {
					t.Errorf("script %d = %d, %v; want %d", i, n, err, i+1)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("a script error is the command's", func(t *testing.T) {
		err := c.Eval(ctx, `return redis.error_reply('BOOM nope')`, nil).Err()
		if err == nil || !redis.HasErrorPrefix(err, "BOOM") {
			t.Errorf("Eval error = %v; want BOOM", err)
		}
	})

	t.Run("an ended context fails the call", func(t *testing.T) {
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := incrScript.Run(done, c, []string{"sc-cancelled"}, 1).Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run with a cancelled context = %v; want context.Canceled", err)
		}
	})

	t.Run("asynq enqueues through it", func(t *testing.T) {
		client := asynq.NewClientFromRedisClient(c)
		info, err := client.EnqueueContext(ctx, asynq.NewTask("t", []byte("x")), asynq.TaskID("sc-task"))
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		got, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo(info.Queue, "sc-task")
		if err != nil || got.State != asynq.TaskStatePending {
			t.Fatalf("task after enqueue = %+v, %v; want pending", got, err)
		}
		if _, err := client.EnqueueContext(ctx, asynq.NewTask("t", nil), asynq.TaskID("sc-task")); !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Errorf("second enqueue with the same id = %v; want ErrTaskIDConflict", err)
		}
	})
}
