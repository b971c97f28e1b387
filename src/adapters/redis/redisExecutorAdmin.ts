import type { Redis } from 'ioredis';
import { createRedis } from './redisClient.js';
import type { RedisKeys } from '../../dispatch/keys.js';
import { HealcastError } from '../../errors.js';

/**
 * Approve or reject an action that waits for a human, atomically: only an action whose state
 * is `awaiting_approval` or `deferred` can be decided, the decision is recorded once, the
 * action leaves the pending set, goes back on the actions stream (the executor then carries
 * it out, or records it as rejected) and the decision is appended to the escalation stream
 * as an audit trail.
 *
 * KEYS: exec state, approval, pending set, actions stream, escalation stream.
 * ARGV: decision, by, atMs, reason, actionId, retentionMs.
 */
const DECIDE_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'awaiting_approval' and status ~= 'deferred' then
  return {'not_waiting', status or 'unknown'}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'already_decided', redis.call('HGET', KEYS[2], 'decision')}
end
local envelope = redis.call('HGET', KEYS[1], 'envelope')
redis.call('HSET', KEYS[2], 'decision', ARGV[1], 'by', ARGV[2], 'atMs', ARGV[3], 'reason', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('XADD', KEYS[4], '*', 'actionId', ARGV[5], 'envelope', envelope)
redis.call('XADD', KEYS[5], '*', 'event', ARGV[1], 'actionId', ARGV[5], 'by', ARGV[2], 'reason', ARGV[4])
return {'ok', status}
`;

type AdminRedis = Redis & {
  healcastDecide(...args: (string | number)[]): Promise<string[]>;
};

/** An action waiting for a human, as `healcast approvals` lists it. */
export interface PendingAction {
  readonly actionId: string;
  readonly deferredAtMs: number;
  /** `awaiting_approval` or `deferred` (breaker open). */
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly envelope: unknown;
}

/** The human side of the executor: approvals, rejections and the kill switch. */
export class RedisExecutorAdmin {
  private readonly redis: AdminRedis;

  constructor(
    url: string,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {
    const redis = createRedis(url, { connectTimeout: 5_000 });
    redis.defineCommand('healcastDecide', { numberOfKeys: 5, lua: DECIDE_LUA });
    this.redis = redis as AdminRedis;
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw new HealcastError('EXECUTOR_UNAVAILABLE', `cannot connect to Redis: ${String(error)}`, {
        retriable: true,
        cause: error,
      });
    }
  }

  /** Records a decision; throws CONFIG_INVALID (not retriable) when the action is not waiting. */
  async decide(
    actionId: string,
    decision: 'approved' | 'rejected',
    by: string,
    reason: string,
    nowMs: number,
  ): Promise<{ previousStatus: string }> {
    const k = this.keys;
    const [result, detail] = await this.redis.healcastDecide(
      k.exec(actionId),
      k.approval(actionId),
      k.pendingApprovals,
      k.actionsStream,
      k.escalationStream,
      decision,
      by,
      nowMs,
      reason,
      actionId,
      this.retentionMs,
    );
    if (result === 'not_waiting') {
      throw new HealcastError(
        'CONFIG_INVALID',
        detail === 'unknown'
          ? `no action ${actionId} is known to the executor (check the id with: healcast approvals)`
          : `action ${actionId} is not waiting for a human (its state is ${detail})`,
        { retriable: false },
      );
    }
    if (result === 'already_decided') {
      throw new HealcastError('CONFIG_INVALID', `action ${actionId} was already ${detail}`, {
        retriable: false,
      });
    }
    return { previousStatus: detail ?? 'unknown' };
  }

  /** Actions waiting for a human, oldest first. */
  async pending(limit = 100): Promise<PendingAction[]> {
    const ids = await this.redis.zrange(this.keys.pendingApprovals, 0, limit - 1, 'WITHSCORES');
    const out: PendingAction[] = [];
    for (let i = 0; i + 1 < ids.length; i += 2) {
      const actionId = ids[i] as string;
      const hash = await this.redis.hgetall(this.keys.exec(actionId));
      const outcome = hash['outcome']
        ? (JSON.parse(hash['outcome']) as { reason?: string; message?: string })
        : {};
      out.push({
        actionId,
        deferredAtMs: Number(ids[i + 1]),
        status: hash['status'] ?? 'unknown',
        reason: outcome.reason ?? 'unknown',
        message: outcome.message ?? '',
        envelope: hash['envelope'] ? (JSON.parse(hash['envelope']) as unknown) : undefined,
      });
    }
    return out;
  }

  async setKillSwitch(on: boolean, by: string, reason: string, nowMs: number): Promise<void> {
    if (on) {
      await this.redis.set(this.keys.killSwitch, JSON.stringify({ by, reason, atMs: nowMs }));
    } else {
      await this.redis.del(this.keys.killSwitch);
    }
    await this.redis.xadd(
      this.keys.escalationStream,
      '*',
      'event',
      on ? 'kill_switch_on' : 'kill_switch_off',
      'by',
      by,
      'reason',
      reason,
    );
  }

  async killSwitch(): Promise<{ on: boolean; by?: string; reason?: string; atMs?: number }> {
    const raw = await this.redis.get(this.keys.killSwitch);
    if (raw === null) return { on: false };
    try {
      return { on: true, ...(JSON.parse(raw) as { by?: string; reason?: string; atMs?: number }) };
    } catch {
      return { on: true };
    }
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
