package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// ScriptClient returns the store's Redis client, except that the scripts it
// runs by digest or by text (EVALSHA, EVAL) join the store's shared
// pipelines instead of each paying a round trip of its own. It is meant for
// asynq's client: its enqueue is one script, so the simulate endpoints'
// enqueues go out with the callbacks' records and the workers' attempt
// records. Every other command goes straight to Redis, as before.
func (s *Store) ScriptClient() redis.UniversalClient {
	return scriptClient{UniversalClient: s.rdb, batch: s.batch}
}

type scriptClient struct {
	redis.UniversalClient
	batch *batcher
}

// EvalSha runs a script by digest in the next shared pipeline.
func (c scriptClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.eval(ctx, "evalsha", sha1, keys, args)
}

// Eval runs a script by text in the next shared pipeline.
func (c scriptClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.eval(ctx, "eval", script, keys, args)
}

func (c scriptClient) eval(ctx context.Context, name, script string, keys []string, args []any) *redis.Cmd {
	cmdArgs := make([]any, 3, 3+len(keys)+len(args))
	cmdArgs[0], cmdArgs[1], cmdArgs[2] = name, script, len(keys)
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // a cluster routes the command by its first key
	}
	if _, done, err := c.batch.call(ctx, func(p redis.Pipeliner) { _ = p.Process(ctx, cmd) }); !done {
		// ctx ended while the command waited: it may still run, and its
		// answer lands on cmd, which the caller must not read.
		failed := redis.NewCmd(ctx, cmdArgs...)
		failed.SetErr(err)
		return failed
	}
	return cmd
}
