import type { Redis } from 'ioredis';
import { createRedis } from './redisClient.js';
import { decideAction, defineDecide, readHandedOver } from './handedOverActions.js';
import type { RedisKeys } from '../../dispatch/keys.js';
import { HealcastError } from '../../errors.js';

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
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {
    this.redis = createRedis(url, { connectTimeout: 5_000 });
    defineDecide(this.redis);
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
  ): Promise<void> {
    // Approve or reject atomically (see handedOverActions.ts): only an action still waiting.
    const decided = await decideAction(this.redis, this.keys, {
      actionId,
      decision,
      by,
      reason,
      nowMs,
      retentionMs: this.retentionMs,
      allowedStates: ['awaiting_approval', 'deferred'],
    });
    if (decided.result === 'not_waiting') {
      throw new HealcastError(
        'CONFIG_INVALID',
        decided.status === 'unknown'
          ? `no action ${actionId} is known to the executor (check the id with: healcast approvals)`
          : `action ${actionId} is not waiting for a human (its state is ${decided.status})`,
        { retriable: false },
      );
    }
    if (decided.result === 'already_decided') {
      throw new HealcastError(
        'CONFIG_INVALID',
        `action ${actionId} was already ${decided.decision}`,
        {
          retriable: false,
        },
      );
    }
  }

  /** Actions waiting for a human, oldest first. */
  async pending(limit = 100): Promise<PendingAction[]> {
    const records = await readHandedOver(this.redis, this.keys, limit);
    return records.map((record) => {
      const outcome = record.outcome
        ? (JSON.parse(record.outcome) as { reason?: string; message?: string })
        : {};
      return {
        actionId: record.actionId,
        deferredAtMs: record.deferredAtMs,
        status: record.status ?? 'unknown',
        reason: outcome.reason ?? 'unknown',
        message: outcome.message ?? '',
        envelope: record.envelope ? (JSON.parse(record.envelope) as unknown) : undefined,
      };
    });
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
