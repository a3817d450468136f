package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Exist reports, for each of ids in order, whether that callback exists, in
// one round trip.
func (s *Store) Exist(ctx context.Context, ids []string) ([]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, recordKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("exist", err)
	}
	out := make([]bool, len(ids))
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}
