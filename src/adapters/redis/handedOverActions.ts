import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../dispatch/keys.js';

/**
 * Decides an action that was handed over (approve, reject, or resume after a breaker closed),
 * atomically: only an action whose state is one of the allowed ones can be decided, the
 * decision is recorded once, the action leaves the pending set, goes back on the actions stream
 * (the executor then carries it out, or records it as rejected) and the decision is appended to
 * the escalation stream as an audit trail.
 *
 * KEYS: exec state, approval, pending set, actions stream, escalation stream.
 * ARGV: decision, by, atMs, reason, actionId, retentionMs, allowed states (space-separated).
 */
const DECIDE_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
local allowed = false
for state in string.gmatch(ARGV[7], '%S+') do
  if status == state then allowed = true end
end
if not allowed then
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
return {'ok'}
`;

type DecideRedis = Redis & {
  healcastDecide(...args: (string | number)[]): Promise<string[]>;
};

/** What the script answered: done, not in an allowed state (with it), or decided before. */
export type DecideResult =
  | { readonly result: 'ok' }
  | { readonly result: 'not_waiting'; readonly status: string }
  | { readonly result: 'already_decided'; readonly decision: string };

/** Registers the script on a connection (before it is used). */
export function defineDecide(redis: Redis): void {
  redis.defineCommand('healcastDecide', { numberOfKeys: 5, lua: DECIDE_LUA });
}

/** Runs the script registered by {@link defineDecide}. */
export async function decideAction(
  redis: Redis,
  keys: RedisKeys,
  decision: {
    readonly actionId: string;
    readonly decision: 'approved' | 'rejected';
    readonly by: string;
    readonly reason: string;
    readonly nowMs: number;
    readonly retentionMs: number;
    readonly allowedStates: readonly string[];
  },
): Promise<DecideResult> {
  const { actionId } = decision;
  const [result, detail] = await (redis as DecideRedis).healcastDecide(
    keys.exec(actionId),
    keys.approval(actionId),
    keys.pendingApprovals,
    keys.actionsStream,
    keys.escalationStream,
    decision.decision,
    decision.by,
    decision.nowMs,
    decision.reason,
    actionId,
    decision.retentionMs,
    decision.allowedStates.join(' '),
  );
  if (result === 'ok') return { result };
  if (result === 'not_waiting') return { result, status: detail ?? 'unknown' };
  return { result: 'already_decided', decision: detail ?? 'unknown' };
}

/** One action of the pending set (handed to a human or deferred by a breaker), as stored. */
export interface HandedOverRecord {
  readonly actionId: string;
  /** When it was handed over (the pending set's score). */
  readonly deferredAtMs: number;
  /** `awaiting_approval`, `deferred` (an open breaker), or what it became since. */
  readonly status: string | undefined;
  /** The recorded outcome and envelope, JSON. */
  readonly outcome: string | undefined;
  readonly envelope: string | undefined;
}

/** The oldest `limit` actions of the pending set, their state read in one pipelined request. */
export async function readHandedOver(
  redis: Redis,
  keys: RedisKeys,
  limit: number,
): Promise<HandedOverRecord[]> {
  const ids = await redis.zrange(keys.pendingApprovals, 0, limit - 1, 'WITHSCORES');
  const pipeline = redis.pipeline();
  for (let i = 0; i + 1 < ids.length; i += 2) {
    pipeline.hmget(keys.exec(ids[i] as string), 'status', 'outcome', 'envelope');
  }
  const replies = (await pipeline.exec()) ?? [];
  const out: HandedOverRecord[] = [];
  for (let i = 0; i + 1 < ids.length; i += 2) {
    const [error, fields] = replies[i / 2] ?? [null, []];
    if (error) throw error;
    const [status, outcome, envelope] = (fields ?? []) as (string | null)[];
    out.push({
      actionId: ids[i] as string,
      deferredAtMs: Number(ids[i + 1]),
      status: status ?? undefined,
      outcome: outcome ?? undefined,
      envelope: envelope ?? undefined,
    });
  }
  return out;
}
