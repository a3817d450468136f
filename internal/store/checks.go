package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler check runs are opaque JSON documents kept by id, with the
// retention of callbacks, and listed newest first from a sorted set scored
// by their start.

func checkKey(id string) string { return "chk:{" + id + "}" }

const checkIndexKey = "chk:{idx}"

// SaveCheck stores (or replaces) the run id started at started.
func (s *Store) SaveCheck(ctx context.Context, id string, started time.Time, run []byte) error {
	limit := strconv.FormatFloat(score(s.now().Add(-s.retention)), 'f', 0, 64)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, checkKey(id), run, 0)
		p.PExpireAt(ctx, checkKey(id), s.expireAt(started))
		p.ZAdd(ctx, checkIndexKey, redis.Z{Score: score(started), Member: id})
		p.ZRemRangeByScore(ctx, checkIndexKey, "-inf", "("+limit)
		return nil
	})
	if err != nil {
		return unavailable("save check", err)
	}
	return nil
}

// GetCheck returns the run id.
func (s *Store) GetCheck(ctx context.Context, id string) ([]byte, error) {
	v, err := s.rdb.Get(ctx, checkKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: check %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, unavailable("get check", err)
	}
	return v, nil
}

// ListChecks returns up to limit runs, newest first, skipping those that
// expired.
func (s *Store) ListChecks(ctx context.Context, limit int) ([][]byte, error) {
	ids, err := s.rdb.ZRevRange(ctx, checkIndexKey, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, unavailable("list checks", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = checkKey(id)
	}
	var gets []*redis.StringCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			gets = append(gets, p.Get(ctx, k))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("list checks", err)
	}
	out := make([][]byte, 0, len(gets))
	for _, g := range gets {
		if b, err := g.Bytes(); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}
