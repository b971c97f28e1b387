/**
 * Every Redis key and stream name healcast uses, built in one place. All keys of one
 * deployment share the hash tag `{<prefix>}` so every Lua script's and MULTI's keys live in
 * one slot on a Redis Cluster too.
 */
export interface RedisKeys {
  /** Stream the executor consumes actions from. */
  readonly actionsStream: string;
  /** Marker that a fire id was enqueued (its presence makes a repeat a no-op). */
  fire(fireId: string): string;
  /** Event time of the last accepted fire of a (policy, target) pair. */
  cooldown(cooldownKey: string): string;
  /** Every decision and outcome of the executor (read back by the worker). */
  readonly outcomesStream: string;
  /** Actions that failed for good, with every attempt's error. */
  readonly actionsDeadLetterStream: string;
  /** Actions handed to a human (approval needed, breaker open) and what humans decided. */
  readonly escalationStream: string;
  /** Hash: the durable state of one action id (status, journaled intent, outcome). */
  exec(actionId: string): string;
  /** List: the failed attempts of one action id. */
  attempts(actionId: string): string;
  /** The lease of the executor working on an action id right now. */
  lease(actionId: string): string;
  /** Hash: a human's decision on an action (approved / rejected, by, at). */
  approval(actionId: string): string;
  /** Sorted set of action ids waiting for a human, scored by when they were deferred. */
  readonly pendingApprovals: string;
  /** Present (any value): the kill switch is on and the executor acts on nothing. */
  readonly killSwitch: string;
  /** Sorted set of action ids executed on a target, scored by time (rate limit). */
  targetActions(targetKey: string): string;
  /** Hash: a target's last scale-out time and last replica count set by the executor. */
  targetState(targetKey: string): string;
}

/** Builds the key set for a deployment prefix such as `healcast`. */
export function redisKeys(prefix: string): RedisKeys {
  const tag = `{${prefix}}`;
  return {
    actionsStream: `${tag}:actions`,
    fire: (fireId) => `${tag}:fire:${fireId}`,
    cooldown: (cooldownKey) => `${tag}:cooldown:${cooldownKey}`,
    outcomesStream: `${tag}:outcomes`,
    actionsDeadLetterStream: `${tag}:actions:dead`,
    escalationStream: `${tag}:escalations`,
    exec: (actionId) => `${tag}:exec:${actionId}`,
    attempts: (actionId) => `${tag}:exec:${actionId}:attempts`,
    lease: (actionId) => `${tag}:lease:${actionId}`,
    approval: (actionId) => `${tag}:approval:${actionId}`,
    pendingApprovals: `${tag}:approvals:pending`,
    killSwitch: `${tag}:killswitch`,
    targetActions: (targetKey) => `${tag}:target:${targetKey}:actions`,
    targetState: (targetKey) => `${tag}:target:${targetKey}`,
  };
}
