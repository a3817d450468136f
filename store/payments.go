package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Payments are opaque JSON documents kept by key, with the same retention as
// callbacks. Each gateway package decides what a payment holds and how its
// key is made.

func paymentKey(key string) string { return "pay:{" + key + "}" }

// CreatePayment stores value under key unless the key exists; then it
// returns the stored value and an error wrapping ErrExists.
func (s *Store) CreatePayment(ctx context.Context, key string, value []byte) ([]byte, error) {
	k := paymentKey(key)
	ok, err := s.rdb.SetNX(ctx, k, value, s.retention).Result()
	if err != nil {
		return nil, unavailable("create payment", err)
	}
	if ok {
		return nil, nil
	}
	existing, err := s.GetPayment(ctx, key)
	if err != nil {
		return nil, err
	}
	return existing, fmt.Errorf("store: payment %s: %w", key, ErrExists)
}

// GetPayment returns the payment stored under key.
func (s *Store) GetPayment(ctx context.Context, key string) ([]byte, error) {
	v, err := s.rdb.Get(ctx, paymentKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: payment %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, unavailable("get payment", err)
	}
	return v, nil
}

// UpdatePayment replaces the payment under key by what change makes of it,
// atomically: a concurrent update makes it try again. An error from change
// is returned as it is, and nothing is written.
func (s *Store) UpdatePayment(ctx context.Context, key string, change func(old []byte) ([]byte, error)) error {
	k := paymentKey(key)
	for range 16 {
		var changeErr error
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			old, err := tx.Get(ctx, k).Bytes()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("store: payment %s: %w", key, ErrNotFound)
			}
			if err != nil {
				return err
			}
			updated, err := change(old)
			if err != nil {
				changeErr = err
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.SetArgs(ctx, k, updated, redis.SetArgs{KeepTTL: true})
				return nil
			})
			return err
		}, k)
		switch {
		case err == nil:
			return nil
		case changeErr != nil:
			return changeErr
		case errors.Is(err, ErrNotFound):
			return err
		case errors.Is(err, redis.TxFailedErr):
			continue
		default:
			return unavailable("update payment", err)
		}
	}
	return fmt.Errorf("store: payment %s: too many concurrent updates: %w", key, ErrUnavailable)
}
