package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Dashboard sessions are one string key each, named by a digest of the
// session id (so that the keys Redis holds cannot be replayed as cookies)
// and expiring with the session.

func sessionKey(digest string) string { return "ses:{" + digest + "}" }

// SaveSession stores value under the session digest until ttl has passed.
func (s *Store) SaveSession(ctx context.Context, digest, value string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, sessionKey(digest), value, ttl).Err(); err != nil {
		return unavailable("save session", err)
	}
	return nil
}

// GetSession returns the value of the session digest, or ErrNotFound once
// it expired or was deleted.
func (s *Store) GetSession(ctx context.Context, digest string) (string, error) {
	v, err := s.rdb.Get(ctx, sessionKey(digest)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return "", unavailable("get session", err)
	}
	return v, nil
}

// DeleteSession removes the session digest; removing one that is gone is
// no error.
func (s *Store) DeleteSession(ctx context.Context, digest string) error {
	if err := s.rdb.Del(ctx, sessionKey(digest)).Err(); err != nil {
		return unavailable("delete session", err)
	}
	return nil
}
