import type { TargetHistory } from './guardrails.js';
import type { ActionPlan, Attempt, Outcome } from './outcome.js';

/** One entry of the actions stream as read (fields as written by the worker's sink). */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** What the executor journals before it touches a target (see TargetDriver's contract). */
export interface Intent {
  readonly plan: ActionPlan;
  readonly atMs: number;
  readonly message: string;
}

/** The durable state of one action id. */
export interface ExecState {
  /**
   * undefined: never seen; `working`: an intent is journaled (an executor acted or is about
   * to); `awaiting_approval` / `deferred`: handed to a human; `done`: an outcome is recorded.
   */
  readonly status: 'working' | 'awaiting_approval' | 'deferred' | 'done' | undefined;
  readonly intent?: Intent;
  readonly attempts: readonly Attempt[];
}

export interface Approval {
  readonly decision: 'approved' | 'rejected';
  readonly by: string;
  readonly atMs: number;
  readonly reason?: string;
}

/** An action handed over because its target's breaker was open (oldest first in a list). */
export interface DeferredAction {
  readonly actionId: string;
  /** The envelope as recorded (JSON), parsed again by whoever resumes it. */
  readonly envelope: string;
}

/** How recording an outcome also changes the target's history. */
export interface FinishEffects {
  /** The action changed the target: count it against the rate limit. */
  readonly executedAtMs?: number;
  /** A scale set this count (remembered for targets that cannot be observed). */
  readonly replicas?: number;
  /** A scale-out happened at this time (starts the scale-in stabilization window). */
  readonly scaledUpAtMs?: number;
  /** Failed for good: also write to the dead-letter stream with every attempt. */
  readonly deadLetter?: { readonly envelope: string };
  /** Deferred: also write to the escalation stream (and the pending-approvals set). */
  readonly escalate?: { readonly envelope: string };
}

/**
 * ExecutorStore — the executor's durable state (Redis streams and keys in production).
 * `finish` is atomic: the outcome, the action's terminal state, the target history, the
 * dead-letter/escalation entry and the stream acknowledgement land together or not at all,
 * so an executor that dies at any point leaves the entry pending (to be re-claimed) or fully
 * recorded, never in between.
 */
export interface ExecutorStore {
  /** Creates the consumer group when missing (at the stream's start, so nothing is skipped). */
  ensureGroup(): Promise<void>;
  /** New entries for this consumer (XREADGROUP `>`), waiting up to blockMs. */
  readNew(count: number, blockMs: number): Promise<StreamEntry[]>;
  /** Entries other consumers (or this one, before a crash) left idle longer than minIdleMs. */
  reclaim(minIdleMs: number, count: number): Promise<StreamEntry[]>;
  /** Resets the entry's idle time so no one re-claims it while this executor works on it. */
  keepClaimed(entryId: string): Promise<void>;
  ack(entryId: string): Promise<void>;
  state(actionId: string): Promise<ExecState>;
  /** At most one executor works on an action id at a time. */
  acquireLease(actionId: string, ttlMs: number): Promise<boolean>;
  renewLease(actionId: string, ttlMs: number): Promise<boolean>;
  releaseLease(actionId: string): Promise<void>;
  saveIntent(actionId: string, intent: Intent): Promise<void>;
  addAttempt(actionId: string, attempt: Attempt): Promise<void>;
  approval(actionId: string): Promise<Approval | undefined>;
  /** True when the Redis kill switch key is set. */
  killSwitch(): Promise<boolean>;
  history(targetKey: string, sinceMs: number): Promise<TargetHistory>;
  finish(entryId: string, outcome: Outcome, effects: FinishEffects): Promise<void>;
  /**
   * Actions deferred because a breaker was open, whose target key is `targetKey` (oldest
   * first, at most `limit`), with their envelopes as recorded.
   */
  deferredByBreaker(targetKey: string, limit: number): Promise<DeferredAction[]>;
  /**
   * Puts a breaker-deferred action back on the actions stream with `by` recorded as what let
   * it through, atomically: false (nothing changed) when it is no longer deferred or a human
   * decided it meanwhile.
   */
  resumeDeferred(actionId: string, by: string, nowMs: number): Promise<boolean>;
  /** An entry that is not an action envelope: dead-letter it with the reason, and ack. */
  rejectEntry(entry: StreamEntry, reason: string): Promise<void>;
  /** The consumer name of this executor instance. */
  readonly consumer: string;
}

/** The state an action is left in once this outcome is recorded. */
export function stateAfter(outcome: Outcome): 'done' | 'awaiting_approval' | 'deferred' {
  if (outcome.status !== 'deferred') return 'done';
  return outcome.reason === 'awaiting_approval' ? 'awaiting_approval' : 'deferred';
}
