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

func TestPaymentKey(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"plain ids as before", []string{"qris", "demo", "ORD-1"}, "qris:demo:ORD-1"},
		{"colons in the last part kept", []string{"qris", "m", "3:ORD"}, "qris:m:3:ORD"},
		{"colons in an inner part encoded", []string{"qris", "m:3", "ORD"}, "qris:m%3A3:ORD"},
		{"percent in an inner part encoded", []string{"cinetpay", "50%3A", "TX"}, "cinetpay:50%253A:TX"},
		{"four parts", []string{"centili", "svc:a", "sub", "S-1"}, "centili:svc%3Aa:sub:S-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.PaymentKey(tt.parts...); got != tt.want {
				t.Errorf("PaymentKey(%q) = %q, want %q", tt.parts, got, tt.want)
			}
		})
	}
	// The pairs the old "a:b:c" join confused.
	for _, pair := range [][2][]string{
		{{"qris", "m", "3:ORD"}, {"qris", "m:3", "ORD"}},
		{{"cinetpay", "1", "2:TX"}, {"cinetpay", "1:2", "TX"}},
		{{"centili", "a", "sub", "b:sub:c"}, {"centili", "a:sub:b", "sub", "c"}},
		{{"qris", "m%3A3", "ORD"}, {"qris", "m:3", "ORD"}},
	} {
		if a, b := store.PaymentKey(pair[0]...), store.PaymentKey(pair[1]...); a == b {
			t.Errorf("PaymentKey(%q) and PaymentKey(%q) are both %q", pair[0], pair[1], a)
		}
	}
}
