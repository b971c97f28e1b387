import type { Redis } from 'ioredis';
import { createRedis } from './redisClient.js';
import { decideAction, defineDecide, readHandedOver } from './handedOverActions.js';
import { ActionTargetSchema, targetKeyOf } from '../../dispatch/envelope.js';
import type { RedisKeys } from '../../dispatch/keys.js';
import { HealcastError } from '../../errors.js';
import type {
  DeferredAction,
  Approval,
  ExecState,
  ExecutorStore,
  FinishEffects,
  Intent,
  StreamEntry,
} from '../../execute/executorStore.js';
import { stateAfter } from '../../execute/executorStore.js';
import type { TargetHistory } from '../../execute/guardrails.js';
import { AttemptSchema, type Attempt, type Outcome } from '../../execute/outcome.js';

/** Renews or releases a lease only when this executor still holds it. */
const RENEW_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
/** Takes a free lease, or keeps one this consumer already held before it restarted. */
const ACQUIRE_LEASE_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Most pending actions read when a breaker closes (the set holds what waits for humans). */
const PENDING_SCAN_LIMIT = 1_000;

type LeaseRedis = Redis & {
  healcastAcquireLease(key: string, owner: string, ttlMs: number): Promise<number>;
  healcastRenewLease(key: string, owner: string, ttlMs: number): Promise<number>;
  healcastReleaseLease(key: string, owner: string): Promise<number>;
};

export interface RedisExecutorStoreOptions {
  readonly url: string;
  readonly keys: RedisKeys;
  readonly group: string;
  readonly consumer: string;
  /** How long action state, history and outcomes are kept (like the worker's marker TTL). */
  readonly retentionMs: number;
  /** Approximate cap of the outcomes, dead-letter and escalation streams. */
  readonly streamMaxLen: number;
}

/** ExecutorStore on Redis streams, hashes and sorted sets (see the port for the contract). */
export class RedisExecutorStore implements ExecutorStore {
  readonly consumer: string;
  private readonly redis: LeaseRedis;
  private readonly blocking: Redis;
  /**
   * Cursor through this consumer's own pending entries, read first after a start: an executor
   * restarted under the same name resumes what it was doing at once instead of waiting for
   * the visibility timeout. Undefined once they have all been read.
   */
  private ownCursor: string | undefined = '0';
  private reclaimCursor = '0-0';

  constructor(private readonly options: RedisExecutorStoreOptions) {
    this.consumer = options.consumer;
    // Failures surface as failed commands; the executor's loop backs off and retries.
    const redis = createRedis(options.url, { maxRetriesPerRequest: 2 });
    defineDecide(redis);
    redis.defineCommand('healcastAcquireLease', { numberOfKeys: 1, lua: ACQUIRE_LEASE_LUA });
    redis.defineCommand('healcastRenewLease', { numberOfKeys: 1, lua: RENEW_LEASE_LUA });
    redis.defineCommand('healcastReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE_LUA });
    this.redis = redis as LeaseRedis;
    // XREADGROUP BLOCK holds its connection; everything else must not queue behind it.
    this.blocking = createRedis(options.url, { maxRetriesPerRequest: 2 });
  }

  async connect(): Promise<void> {
    try {
      await Promise.all([this.redis.connect(), this.blocking.connect()]);
    } catch (error) {
      throw new HealcastError(
        'EXECUTOR_UNAVAILABLE',
        `cannot connect to Redis at ${this.options.url}: ${String(error)}`,
        {
          retriable: true,
          cause: error,
        },
      );
    }
  }

  isConnected(): boolean {
    return this.redis.status === 'ready' && this.blocking.status === 'ready';
  }

  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup(
        'CREATE',
        this.options.keys.actionsStream,
        this.options.group,
        '0',
        'MKSTREAM',
      );
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  }

  async readNew(count: number, blockMs: number): Promise<StreamEntry[]> {
    const { keys, group } = this.options;
    if (this.ownCursor !== undefined) {
      const own = toEntries(
        await this.redis.xreadgroup(
          'GROUP',
          group,
          this.consumer,
          'COUNT',
          count,
          'STREAMS',
          keys.actionsStream,
          this.ownCursor,
        ),
      );
      const last = own[own.length - 1];
      this.ownCursor = last?.id;
      if (own.length > 0) return own;
    }
    const reply =
      blockMs > 0
        ? await this.blocking.xreadgroup(
            'GROUP',
            group,
            this.consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            keys.actionsStream,
            '>',
          )
        : await this.redis.xreadgroup(
            'GROUP',
            group,
            this.consumer,
            'COUNT',
            count,
            'STREAMS',
            keys.actionsStream,
            '>',
          );
    return toEntries(reply);
  }

  async reclaim(minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const { keys, group } = this.options;
    const reply = (await this.redis.xautoclaim(
      keys.actionsStream,
      group,
      this.consumer,
      minIdleMs,
      this.reclaimCursor,
      'COUNT',
      count,
    )) as [string, [string, string[]][] | null, string[]?];
    // XAUTOCLAIM scans COUNT pending entries per call; the cursor walks the whole list.
    this.reclaimCursor = reply[0];
    return (reply[1] ?? [])
      .filter((e) => e !== null)
      .map(([id, fields]) => ({ id, fields: toFields(fields) }));
  }

  async keepClaimed(entryId: string): Promise<void> {
    const { keys, group } = this.options;
    await this.redis.xclaim(keys.actionsStream, group, this.consumer, 0, entryId, 'JUSTID');
  }

  async ack(entryId: string): Promise<void> {
    await this.redis.xack(this.options.keys.actionsStream, this.options.group, entryId);
  }

  async state(actionId: string): Promise<ExecState> {
    const { keys } = this.options;
    const [hash, attempts] = await Promise.all([
      this.redis.hgetall(keys.exec(actionId)),
      this.redis.lrange(keys.attempts(actionId), 0, -1),
    ]);
    const status = hash['status'] as ExecState['status'];
    return {
      status,
      ...(hash['intent'] === undefined ? {} : { intent: JSON.parse(hash['intent']) as Intent }),
      attempts: attempts.map((a) => AttemptSchema.parse(JSON.parse(a))),
    };
  }

  async acquireLease(actionId: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.redis.healcastAcquireLease(
        this.options.keys.lease(actionId),
        this.consumer,
        ttlMs,
      )) === 1
    );
  }

  async renewLease(actionId: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.redis.healcastRenewLease(
        this.options.keys.lease(actionId),
        this.consumer,
        ttlMs,
      )) === 1
    );
  }

  async releaseLease(actionId: string): Promise<void> {
    await this.redis.healcastReleaseLease(this.options.keys.lease(actionId), this.consumer);
  }

  async saveIntent(actionId: string, intent: Intent): Promise<void> {
    const key = this.options.keys.exec(actionId);
    await this.redis
      .multi()
      .hset(key, 'status', 'working', 'intent', JSON.stringify(intent))
      .pexpire(key, this.options.retentionMs)
      .exec();
  }

  async addAttempt(actionId: string, attempt: Attempt): Promise<void> {
    const key = this.options.keys.attempts(actionId);
    await this.redis
      .multi()
      .rpush(key, JSON.stringify(attempt))
      .pexpire(key, this.options.retentionMs)
      .exec();
  }

  async approval(actionId: string): Promise<Approval | undefined> {
    const hash = await this.redis.hgetall(this.options.keys.approval(actionId));
    const decision = hash['decision'];
    if (decision !== 'approved' && decision !== 'rejected') return undefined;
    return {
      decision,
      by: hash['by'] ?? 'unknown',
      atMs: Number(hash['atMs'] ?? 0),
      ...(hash['reason'] ? { reason: hash['reason'] } : {}),
    };
  }

  async deferredByBreaker(targetKey: string, limit: number): Promise<DeferredAction[]> {
    // The pending set is small (actions waiting for a human). Status `deferred` is an open
    // breaker's (an approval waits as `awaiting_approval`, see stateAfter).
    const records = await readHandedOver(this.redis, this.options.keys, PENDING_SCAN_LIMIT);
    const found: DeferredAction[] = [];
    for (const { actionId, status, envelope } of records) {
      if (found.length >= limit) break;
      if (status !== 'deferred' || envelope === undefined) continue;
      if (envelopeTargetKey(envelope) === targetKey) found.push({ actionId, envelope });
    }
    return found;
  }

  async resumeDeferred(actionId: string, by: string, nowMs: number): Promise<boolean> {
    const decided = await decideAction(this.redis, this.options.keys, {
      actionId,
      decision: 'approved',
      by,
      reason: 'the circuit breaker closed',
      nowMs,
      retentionMs: this.options.retentionMs,
      allowedStates: ['deferred'],
    });
    return decided.result === 'ok';
  }

  async killSwitch(): Promise<boolean> {
    return (await this.redis.exists(this.options.keys.killSwitch)) === 1;
  }

  async history(targetKey: string, sinceMs: number): Promise<TargetHistory> {
    const { keys } = this.options;
    const [times, state] = await Promise.all([
      this.redis.zrangebyscore(keys.targetActions(targetKey), `(${sinceMs}`, '+inf', 'WITHSCORES'),
      this.redis.hgetall(keys.targetState(targetKey)),
    ]);
    const executedAtMs: number[] = [];
    for (let i = 1; i < times.length; i += 2) executedAtMs.push(Number(times[i]));
    return {
      executedAtMs,
      ...(state['lastScaleUpAtMs'] === undefined
        ? {}
        : { lastScaleUpAtMs: Number(state['lastScaleUpAtMs']) }),
      ...(state['lastReplicas'] === undefined
        ? {}
        : { lastReplicas: Number(state['lastReplicas']) }),
    };
  }

  async finish(entryId: string, outcome: Outcome, effects: FinishEffects): Promise<void> {
    const { keys, group, retentionMs, streamMaxLen } = this.options;
    const targetKey = targetKeyOf(outcome.target);
    const json = JSON.stringify(outcome);
    const execKey = keys.exec(outcome.actionId);
    const status = stateAfter(outcome);
    const tx = this.redis.multi();
    tx.hset(execKey, 'status', status, 'outcome', json);
    if (effects.escalate) tx.hset(execKey, 'envelope', effects.escalate.envelope);
    tx.pexpire(execKey, retentionMs);
    tx.xadd(
      keys.outcomesStream,
      'MAXLEN',
      '~',
      streamMaxLen,
      '*',
      'actionId',
      outcome.actionId,
      'status',
      outcome.status,
      'outcome',
      json,
    );
    if (effects.executedAtMs !== undefined) {
      const zkey = keys.targetActions(targetKey);
      tx.zadd(zkey, effects.executedAtMs, outcome.actionId);
      tx.zremrangebyscore(zkey, '-inf', effects.executedAtMs - retentionMs);
      tx.pexpire(zkey, retentionMs);
    }
    if (effects.replicas !== undefined || effects.scaledUpAtMs !== undefined) {
      const hkey = keys.targetState(targetKey);
      if (effects.replicas !== undefined) tx.hset(hkey, 'lastReplicas', effects.replicas);
      if (effects.scaledUpAtMs !== undefined)
        tx.hset(hkey, 'lastScaleUpAtMs', effects.scaledUpAtMs);
      tx.pexpire(hkey, retentionMs);
    }
    if (effects.deadLetter) {
      tx.xadd(
        keys.actionsDeadLetterStream,
        'MAXLEN',
        '~',
        streamMaxLen,
        '*',
        'actionId',
        outcome.actionId,
        'reason',
        outcome.reason,
        'message',
        outcome.message,
        'attempts',
        JSON.stringify(outcome.attempts),
        'envelope',
        effects.deadLetter.envelope,
      );
    }
    if (effects.escalate) {
      // A human's earlier approval is used up: deferring again (breaker still open) needs a new one.
      tx.del(keys.approval(outcome.actionId));
      tx.xadd(
        keys.escalationStream,
        'MAXLEN',
        '~',
        streamMaxLen,
        '*',
        'event',
        'deferred',
        'actionId',
        outcome.actionId,
        'reason',
        outcome.reason,
        'message',
        outcome.message,
        'envelope',
        effects.escalate.envelope,
      );
      tx.zadd(keys.pendingApprovals, outcome.finishedAtMs, outcome.actionId);
    }
    tx.xack(keys.actionsStream, group, entryId);
    const replies = await tx.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (replies === null || failed) {
      throw new HealcastError(
        'EXECUTOR_UNAVAILABLE',
        `could not record the outcome of ${outcome.actionId}: ${String(failed?.[0] ?? 'transaction aborted')}`,
        { retriable: true },
      );
    }
  }

  async rejectEntry(entry: StreamEntry, reason: string): Promise<void> {
    const { keys, group, streamMaxLen } = this.options;
    await this.redis
      .multi()
      .xadd(
        keys.actionsDeadLetterStream,
        'MAXLEN',
        '~',
        streamMaxLen,
        '*',
        'entryId',
        entry.id,
        'reason',
        'invalid_action',
        'message',
        reason,
        'fields',
        JSON.stringify(entry.fields),
      )
      .xack(keys.actionsStream, group, entry.id)
      .exec();
  }

  async close(): Promise<void> {
    this.blocking.disconnect();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

type XReadReply = [string, [string, string[] | null][]][] | null;

function toEntries(reply: unknown): StreamEntry[] {
  const streams = reply as XReadReply;
  if (!streams) return [];
  return streams.flatMap(([, entries]) =>
    entries.map(([id, fields]) => ({ id, fields: toFields(fields) })),
  );
}

function toFields(flat: string[] | null): Record<string, string> {
  // An entry trimmed from the stream while pending comes back with null fields.
  if (flat === null) return {};
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

/** The target key of a recorded envelope (JSON), or undefined when it cannot be read. */
function envelopeTargetKey(envelopeJson: string): string | undefined {
  try {
    const target = ActionTargetSchema.safeParse(
      (JSON.parse(envelopeJson) as { target?: unknown }).target,
    );
    return target.success ? targetKeyOf(target.data) : undefined;
  } catch {
    return undefined;
  }
}
