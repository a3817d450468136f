package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Payments are opaque JSON documents kept by key, with the same retention as
// callbacks. Each gateway package decides what a payment holds and how its
// key is made.

func paymentKey(key string) string { return "pay:{" + key + "}" }

// PaymentKey joins parts into a payment key, "qris:<merchant>:<order>":
// every part but the last has its ":" and "%" percent-encoded, so no part
// can run into the next (merchant "m" and order "3:ORD" is not merchant
// "m:3" and order "ORD"). A part without either is written as it is, so
// the keys of such ids are those made before the encoding.
func PaymentKey(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i < len(parts)-1 {
			p = keyPartEscaper.Replace(p) + ":"
		}
		b.WriteString(p)
	}
	return b.String()
}

var keyPartEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

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
//
// It reads the payment, then writes it with a compare-and-set script: two
// round trips, where WATCH, GET and MULTI/EXEC took three.
func (s *Store) UpdatePayment(ctx context.Context, key string, change func(old []byte) ([]byte, error)) error {
	k := paymentKey(key)
	for range 16 {
		var get *redis.StringCmd
		_, err := s.batch.pipelined(ctx, func(p redis.Pipeliner) { get = p.Get(ctx, k) })
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("store: payment %s: %w", key, ErrNotFound)
		}
		if err != nil {
			return unavailable("update payment", err)
		}
		old, _ := get.Bytes()
		updated, err := change(old)
		if err != nil {
			return err
		}
		var cas *redis.Cmd
		_, err = s.pipelinedScripts(ctx, casScript, func(p redis.Pipeliner) { cas = casScript.EvalSha(ctx, p, []string{k}, old, updated) })
		if err != nil {
			return unavailable("update payment", err)
		}
		switch n, _ := cas.Int(); {
		case n == 1:
			return nil
		case n == -1:
			return fmt.Errorf("store: payment %s: %w", key, ErrNotFound)
		}
		// Changed in between: read it again.
	}
	return fmt.Errorf("store: payment %s: too many concurrent updates: %w", key, ErrUnavailable)
}

// casScript sets KEYS[1] to ARGV[2], keeping its expiry, if it still holds
// ARGV[1]: 1 when set, 0 when it holds something else, -1 when it is gone.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`)

// maxPaymentEvents bounds the events kept per payment (the newest).
const maxPaymentEvents = 100

func paymentEventsKey(key string) string { return "pay:{" + key + "}:events" }

// LogPaymentEvent appends event to the events of the payment under key
// (such as the calls a merchant made to a verification API), keeping the
// newest maxPaymentEvents for the retention.
func (s *Store) LogPaymentEvent(ctx context.Context, key string, event []byte) error {
	k := paymentEventsKey(key)
	_, err := s.batch.pipelined(ctx, func(p redis.Pipeliner) {
		p.RPush(ctx, k, event)
		p.LTrim(ctx, k, -maxPaymentEvents, -1)
		p.PExpire(ctx, k, s.retention)
	})
	if err != nil {
		return unavailable("log payment event", err)
	}
	return nil
}

// PaymentEvents returns the events of the payment under key, oldest first
// (none for an unknown payment).
func (s *Store) PaymentEvents(ctx context.Context, key string) ([][]byte, error) {
	vals, err := s.rdb.LRange(ctx, paymentEventsKey(key), 0, -1).Result()
	if err != nil {
		return nil, unavailable("payment events", err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}
