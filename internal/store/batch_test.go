package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redistest"
)

func TestBatcher(t *testing.T) {
	rdb := redistest.Start(t).Client()
	b := &batcher{rdb: rdb}
	ctx := context.Background()
	if err := rdb.Set(ctx, "str", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	t.Run("concurrent callers each get their own commands", func(t *testing.T) {
		const callers = 200
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := "k" + strconv.Itoa(i)
				var set *redis.StatusCmd
				var get *redis.StringCmd
				cmds, err := b.pipelined(ctx, func(p redis.Pipeliner) {
					set = p.Set(ctx, key, i, 0)
					get = p.Get(ctx, key)
				})
				if err != nil || len(cmds) != 2 || set.Err() != nil || get.Val() != strconv.Itoa(i) {
					t.Errorf("caller %d: %d cmds, err %v, get %q", i, len(cmds), err, get.Val())
				}
			}()
		}
		wg.Wait()
	})

	t.Run("an error stays with its caller", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = b.pipelined(ctx, func(p redis.Pipeliner) {
					if i%2 == 0 {
						p.HGetAll(ctx, "str") // WRONGTYPE
					} else {
						p.Get(ctx, "str")
					}
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if wrong := err != nil && strings.Contains(err.Error(), "WRONGTYPE"); wrong != (i%2 == 0) || (i%2 == 1 && err != nil) {
				t.Errorf("caller %d: err %v", i, err)
			}
		}
	})

	t.Run("redis.Nil is the caller's error, as with Pipelined", func(t *testing.T) {
		_, err := b.pipelined(ctx, func(p redis.Pipeliner) { p.Get(ctx, "missing") })
		if !errors.Is(err, redis.Nil) {
			t.Errorf("err = %v, want redis.Nil", err)
		}
	})

	t.Run("a cancelled caller returns its context's error", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.pipelined(cctx, func(p redis.Pipeliner) { p.Get(ctx, "str") }); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("no flusher is left running", func(t *testing.T) {
		idle := func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.flushing == 0 && len(b.pending) == 0
		}
		deadline := time.Now().Add(5 * time.Second)
		for !idle() {
			if time.Now().After(deadline) {
				t.Fatal("a flusher still runs 5s after the last call")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
