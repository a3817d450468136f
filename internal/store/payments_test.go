package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/store"
)

func TestUpdatePayment(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	if _, err := s.CreatePayment(ctx, "p1", []byte("0")); err != nil {
		t.Fatal(err)
	}

	t.Run("concurrent updates all apply", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.UpdatePayment(ctx, "p1", func(old []byte) ([]byte, error) {
					n, err := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(n + 1)), err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := s.GetPayment(ctx, "p1")
		if err != nil || string(got) != "8" {
			t.Errorf("payment = %q, %v; want 8 after 8 increments", got, err)
		}
	})

	t.Run("keeps the expiry", func(t *testing.T) {
		ttl := rdb.TTL(ctx, "pay:{p1}").Val()
		if ttl <= 0 || ttl > time.Hour {
			t.Errorf("TTL after updates = %s, want the retention (1h)", ttl)
		}
	})

	t.Run("an error from change writes nothing", func(t *testing.T) {
		boom := errors.New("boom")
		err := s.UpdatePayment(ctx, "p1", func([]byte) ([]byte, error) { return []byte("x"), boom })
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
		if got, _ := s.GetPayment(ctx, "p1"); string(got) != "8" {
			t.Errorf("payment = %q after a failed change, want 8", got)
		}
	})

	t.Run("unknown payment", func(t *testing.T) {
		err := s.UpdatePayment(ctx, "nope", func(old []byte) ([]byte, error) { return old, nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})

	t.Run("redis down", func(t *testing.T) {
		r.Stop()
		defer r.Restart()
		err := s.UpdatePayment(ctx, "p1", func(old []byte) ([]byte, error) { return old, nil })
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("err = %v, want ErrUnavailable", err)
		}
	})
}
