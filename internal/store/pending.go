package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The pending index lists the payments still waiting for an outcome, per
// provider, for the dashboard's payment simulator: a sorted set whose
// members are "<merchant id>\x1f<reference>", scored by creation time. A
// gateway adds a payment when it is made and takes it out when it gets its
// outcome, so the index holds pending payments only; those older than
// the retention, whose records Redis has expired, are trimmed as it is
// read.

func pendingKey(provider string) string { return "pay:{idx}:pending:" + provider }

const pendingSep = "\x1f"

// PendingPayment is an entry of the pending index.
type PendingPayment struct {
	Provider   string    `json:"provider"`
	MerchantID string    `json:"merchant_id"`
	Reference  string    `json:"reference"`
	CreatedAt  time.Time `json:"created_at"`
}

func (p PendingPayment) member() string { return p.MerchantID + pendingSep + p.Reference }

// CreatePendingPayment is CreatePayment for a payment that waits for its
// outcome: once it is created, p goes in the pending index. (Two round
// trips: the payment and the index are in different hash slots, so one
// script could not write both on a cluster.)
func (s *Store) CreatePendingPayment(ctx context.Context, key string, value []byte, p PendingPayment) ([]byte, error) {
	existing, err := s.CreatePayment(ctx, key, value)
	if err != nil {
		return existing, err
	}
	return nil, s.MarkPending(ctx, p)
}

// MarkPending puts a payment in the pending index.
func (s *Store) MarkPending(ctx context.Context, p PendingPayment) error {
	if err := s.rdb.ZAdd(ctx, pendingKey(p.Provider), redis.Z{Score: score(p.CreatedAt), Member: p.member()}).Err(); err != nil {
		return unavailable("mark pending", err)
	}
	return nil
}

// ClearPending takes a payment out of the pending index.
func (s *Store) ClearPending(ctx context.Context, provider, merchantID, reference string) error {
	if err := s.rdb.ZRem(ctx, pendingKey(provider), merchantID+pendingSep+reference).Err(); err != nil {
		return unavailable("clear pending", err)
	}
	return nil
}

// ListPending returns up to limit pending payments of provider, newest
// first, of merchantID only when it is not empty.
func (s *Store) ListPending(ctx context.Context, provider, merchantID string, limit int) ([]PendingPayment, error) {
	key := pendingKey(provider)
	oldest := strconv.FormatFloat(score(s.now().Add(-s.retention)), 'f', 0, 64)
	var zs *redis.ZSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+oldest)
		zs = p.ZRevRangeWithScores(ctx, key, 0, -1)
		return nil
	})
	if err != nil {
		return nil, unavailable("list pending", err)
	}
	out := []PendingPayment{}
	for _, z := range zs.Val() {
		member, _ := z.Member.(string)
		m, ref, ok := strings.Cut(member, pendingSep)
		if !ok || (merchantID != "" && m != merchantID) {
			continue
		}
		out = append(out, PendingPayment{Provider: provider, MerchantID: m, Reference: ref, CreatedAt: time.UnixMicro(int64(z.Score)).UTC()})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
