import type { Redis } from 'ioredis';
import { createRedis } from './redisClient.js';
import { HealcastError } from '../../errors.js';
import type { ActionSink, EnqueueResult } from '../../dispatch/actionSink.js';
import type { Fire } from '../../dispatch/envelope.js';
import type { RedisKeys } from '../../dispatch/keys.js';

/**
 * Atomically: drop a fire already enqueued (dedupe marker), refuse one inside the durable
 * cooldown of its (policy, target), otherwise write every action of the fire to the stream
 * and record the marker and the cooldown. One script, so a crash can never leave a fire
 * half-written or written twice (Redis < 8.6 has no idempotent XADD).
 *
 * KEYS: fire marker, cooldown key, actions stream.
 * ARGV: observedAtMs, cooldownMs, markerTtlMs, maxLen, then (actionId, envelope) pairs.
 */
const ENQUEUE_FIRE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate'} end
local ts = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
local last = redis.call('GET', KEYS[2])
if last then
  last = tonumber(last)
  if math.abs(ts - last) < cooldown then return {'cooling_down', tostring(last)} end
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
if (not last) or ts > last then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3]) end
local result = {'enqueued'}
for i = 5, #ARGV, 2 do
  result[#result + 1] = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
    'actionId', ARGV[i], 'envelope', ARGV[i + 1])
end
return result
`;

type RedisWithEnqueue = Redis & {
  healcastEnqueueFire(...args: (string | number)[]): Promise<string[]>;
};

/** Settings of the Redis action sink. */
export interface RedisActionSinkOptions {
  readonly url: string;
  readonly keys: RedisKeys;
  /** How long fire markers and cooldown records live; far above any replay window. */
  readonly markerTtlMs: number;
  /** Approximate cap of the stream; far above any executor backlog (trimming drops pending). */
  readonly streamMaxLen: number;
}

/** RedisActionSink — the ActionSink port on a Redis stream (see the port for the contract). */
export class RedisActionSink implements ActionSink {
  private readonly redis: RedisWithEnqueue;

  constructor(private readonly options: RedisActionSinkOptions) {
    // Fail fast while disconnected: the worker's own retry loop pauses consumption and keeps
    // offsets uncommitted, which is better than commands piling up in a queue.
    const redis = createRedis(options.url, { enableOfflineQueue: false });
    redis.defineCommand('healcastEnqueueFire', { numberOfKeys: 3, lua: ENQUEUE_FIRE_LUA });
    this.redis = redis as RedisWithEnqueue;
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw new HealcastError('SINK_UNAVAILABLE', `cannot connect to Redis: ${String(error)}`, {
        retriable: true,
        cause: error,
      });
    }
  }

  isReady(): boolean {
    return this.redis.status === 'ready';
  }

  async enqueue(fires: readonly Fire[]): Promise<EnqueueResult[]> {
    if (fires.length === 0) return [];
    const { keys, markerTtlMs, streamMaxLen } = this.options;
    const pipeline = this.redis.pipeline();
    for (const fire of fires) {
      const args: (string | number)[] = [
        keys.fire(fire.fireId),
        keys.cooldown(fire.cooldownKey),
        keys.actionsStream,
        fire.observedAtMs,
        fire.cooldownMs,
        markerTtlMs,
        streamMaxLen,
      ];
      for (const action of fire.actions) args.push(action.actionId, JSON.stringify(action));
      // Queued on the pipeline; the replies come back from exec() below.
      void (pipeline as unknown as RedisWithEnqueue).healcastEnqueueFire(...args);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      throw unavailable(error);
    }
    if (replies === null) throw unavailable(new Error('pipeline returned no replies'));
    return replies.map(([error, reply], i) => {
      const fire = fires[i] as Fire;
      if (error) throw unavailable(error);
      const [status, ...rest] = reply as string[];
      if (status === 'duplicate') return { fireId: fire.fireId, status };
      if (status === 'cooling_down') {
        return { fireId: fire.fireId, status, lastFiredAtMs: Number(rest[0]) };
      }
      return { fireId: fire.fireId, status: 'enqueued', entryIds: rest };
    });
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function unavailable(cause: unknown): HealcastError {
  return new HealcastError('SINK_UNAVAILABLE', `Redis action sink failed: ${String(cause)}`, {
    retriable: true,
    cause,
  });
}
