/**
 * Every Redis key and stream name healcast uses, built in one place. All keys of one
 * deployment share the hash tag `{<prefix>}` so the Lua script's keys live in one slot on a
 * Redis Cluster too.
 */
export interface RedisKeys {
  /** Stream the executor consumes actions from. */
  readonly actionsStream: string;
  /** Marker that a fire id was enqueued (its presence makes a repeat a no-op). */
  fire(fireId: string): string;
  /** Event time of the last accepted fire of a (policy, target) pair. */
  cooldown(cooldownKey: string): string;
}

/** Builds the key set for a deployment prefix such as `healcast`. */
export function redisKeys(prefix: string): RedisKeys {
  const tag = `{${prefix}}`;
  return {
    actionsStream: `${tag}:actions`,
    fire: (fireId) => `${tag}:fire:${fireId}`,
    cooldown: (cooldownKey) => `${tag}:cooldown:${cooldownKey}`,
  };
}
