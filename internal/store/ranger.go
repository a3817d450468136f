package store

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ranger pages through the union of sorted sets of callback ids between
// max and min scores, newest first: by score, then by member, both
// descending, as ZRANGE BYSCORE REV would through one set holding them all.
// Each set is read in pages of its own; a round trip refills the sets whose
// page ran out.
type ranger struct {
	rdb      redis.UniversalClient
	max, min string
	sources  []*rangeSource
}

type rangeSource struct {
	key    string
	offset int64
	buf    []redis.Z
	done   bool // no more beyond buf
}

func newRanger(rdb redis.UniversalClient, keys []string, max, min string) *ranger {
	r := &ranger{rdb: rdb, max: max, min: min}
	for _, k := range keys {
		r.sources = append(r.sources, &rangeSource{key: k})
	}
	return r
}

// next returns up to n more entries; fewer than n only at the end.
func (r *ranger) next(ctx context.Context, n int64) ([]redis.Z, error) {
	out := make([]redis.Z, 0, n)
	for int64(len(out)) < n {
		if err := r.refill(ctx, n); err != nil {
			return nil, err
		}
		// Take entries while every set that may hold more has some in hand:
		// then the greatest head is the next entry of the union.
		for int64(len(out)) < n {
			var best *rangeSource
			ready := true
			for _, s := range r.sources {
				if len(s.buf) == 0 {
					if !s.done {
						ready = false
					}
					continue
				}
				if best == nil || after(s.buf[0], best.buf[0]) {
					best = s
				}
			}
			if !ready || best == nil {
				break
			}
			out = append(out, best.buf[0])
			best.buf = best.buf[1:]
		}
		if r.exhausted() {
			break
		}
	}
	return out, nil
}

// after reports whether a comes before b in the listing: a higher score,
// or the same score and a greater member.
func after(a, b redis.Z) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	am, _ := a.Member.(string)
	bm, _ := b.Member.(string)
	return strings.Compare(am, bm) > 0
}

func (r *ranger) exhausted() bool {
	for _, s := range r.sources {
		if len(s.buf) > 0 || !s.done {
			return false
		}
	}
	return true
}

// refill reads the next page of every set whose page ran out, in one round
// trip.
func (r *ranger) refill(ctx context.Context, n int64) error {
	var empty []*rangeSource
	for _, s := range r.sources {
		if len(s.buf) == 0 && !s.done {
			empty = append(empty, s)
		}
	}
	if len(empty) == 0 {
		return nil
	}
	cmds := make([]*redis.ZSliceCmd, len(empty))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range empty {
			cmds[i] = p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
				Key: s.key, Start: r.max, Stop: r.min, ByScore: true, Rev: true, Offset: s.offset, Count: n,
			})
		}
		return nil
	})
	if err != nil {
		return unavailable("list", err)
	}
	for i, s := range empty {
		s.buf = cmds[i].Val()
		s.offset += int64(len(s.buf))
		s.done = int64(len(s.buf)) < n
	}
	return nil
}
