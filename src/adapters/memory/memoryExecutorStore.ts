import { targetKeyOf, type ActionEnvelope } from '../../dispatch/envelope.js';
import type {
  Approval,
  DeferredAction,
  ExecState,
  ExecutorStore,
  FinishEffects,
  Intent,
  StreamEntry,
} from '../../execute/executorStore.js';
import { stateAfter } from '../../execute/executorStore.js';
import type { TargetHistory } from '../../execute/guardrails.js';
import type { Attempt, Outcome } from '../../execute/outcome.js';
import type { MemoryActionSink } from './memoryActionSink.js';

/**
 * ExecutorStore in process memory, over the embedded demo's action queue: the real executor
 * (gate, guardrails, journal, breakers, outcomes) runs in `npm start` without Redis. Nothing
 * survives the process, so it is for the demo and tests only; one executor, no re-claiming.
 */
export class MemoryExecutorStore implements ExecutorStore {
  readonly consumer = 'embedded';
  private sequence = 0;
  private readonly states = new Map<
    string,
    {
      status: ExecState['status'];
      intent?: Intent;
      attempts: Attempt[];
      /** Set while handed over (deferred or awaiting approval). */
      handedOver?: { envelope: string; atMs: number; target: string };
      approval?: Approval;
    }
  >();
  private readonly targets = new Map<
    string,
    { executedAtMs: number[]; lastScaleUpAtMs?: number; lastReplicas?: number }
  >();

  constructor(
    private readonly queue: MemoryActionSink,
    private readonly onOutcome: (outcome: Outcome) => void = () => undefined,
  ) {}

  ensureGroup(): Promise<void> {
    return Promise.resolve();
  }

  async readNew(count: number, blockMs: number): Promise<StreamEntry[]> {
    const actions = await this.queue.takeUpTo(count, blockMs);
    return actions.map((action: ActionEnvelope) => ({
      id: `mem-${++this.sequence}`,
      fields: { actionId: action.actionId, envelope: JSON.stringify(action) },
    }));
  }

  reclaim(): Promise<StreamEntry[]> {
    return Promise.resolve([]);
  }

  keepClaimed(): Promise<void> {
    return Promise.resolve();
  }

  ack(): Promise<void> {
    return Promise.resolve();
  }

  state(actionId: string): Promise<ExecState> {
    const state = this.states.get(actionId);
    return Promise.resolve({
      status: state?.status,
      ...(state?.intent === undefined ? {} : { intent: state.intent }),
      attempts: [...(state?.attempts ?? [])],
    });
  }

  acquireLease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  renewLease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  releaseLease(): Promise<void> {
    return Promise.resolve();
  }

  saveIntent(actionId: string, intent: Intent): Promise<void> {
    this.stateOf(actionId).intent = intent;
    this.stateOf(actionId).status = 'working';
    return Promise.resolve();
  }

  addAttempt(actionId: string, attempt: Attempt): Promise<void> {
    this.stateOf(actionId).attempts.push(attempt);
    return Promise.resolve();
  }

  approval(actionId: string): Promise<Approval | undefined> {
    return Promise.resolve(this.states.get(actionId)?.approval);
  }

  killSwitch(): Promise<boolean> {
    return Promise.resolve(false);
  }

  history(targetKey: string, sinceMs: number): Promise<TargetHistory> {
    const h = this.targets.get(targetKey);
    return Promise.resolve({
      executedAtMs: (h?.executedAtMs ?? []).filter((t) => t > sinceMs),
      ...(h?.lastScaleUpAtMs === undefined ? {} : { lastScaleUpAtMs: h.lastScaleUpAtMs }),
      ...(h?.lastReplicas === undefined ? {} : { lastReplicas: h.lastReplicas }),
    });
  }

  finish(_entryId: string, outcome: Outcome, effects: FinishEffects): Promise<void> {
    const state = this.stateOf(outcome.actionId);
    state.status = stateAfter(outcome);
    const targetKey = targetKeyOf(outcome.target);
    if (effects.escalate) {
      // As in Redis: an earlier decision is used up once the action is handed over again.
      delete state.approval;
      state.handedOver = {
        envelope: effects.escalate.envelope,
        atMs: outcome.finishedAtMs,
        target: targetKey,
      };
    } else {
      delete state.handedOver;
    }
    const h = this.targets.get(targetKey) ?? { executedAtMs: [] };
    if (effects.executedAtMs !== undefined)
      h.executedAtMs = [...h.executedAtMs.slice(-999), effects.executedAtMs];
    if (effects.replicas !== undefined) h.lastReplicas = effects.replicas;
    if (effects.scaledUpAtMs !== undefined) h.lastScaleUpAtMs = effects.scaledUpAtMs;
    this.targets.set(targetKey, h);
    this.onOutcome(outcome);
    return Promise.resolve();
  }

  deferredByBreaker(targetKey: string, limit: number): Promise<DeferredAction[]> {
    const found: { action: DeferredAction; atMs: number }[] = [];
    for (const [actionId, state] of this.states) {
      const over = state.handedOver;
      // Status `deferred` is an open breaker's (an approval waits as `awaiting_approval`).
      if (state.status !== 'deferred' || over === undefined || over.target !== targetKey) continue;
      found.push({ action: { actionId, envelope: over.envelope }, atMs: over.atMs });
    }
    found.sort((a, b) => a.atMs - b.atMs);
    return Promise.resolve(found.slice(0, limit).map((f) => f.action));
  }

  resumeDeferred(actionId: string, by: string, nowMs: number): Promise<boolean> {
    const state = this.states.get(actionId);
    const over = state?.handedOver;
    if (state?.status !== 'deferred' || over === undefined || state.approval !== undefined) {
      return Promise.resolve(false);
    }
    state.approval = {
      decision: 'approved',
      by,
      atMs: nowMs,
      reason: 'the circuit breaker closed',
    };
    this.queue.requeue(JSON.parse(over.envelope) as ActionEnvelope);
    return Promise.resolve(true);
  }

  rejectEntry(): Promise<void> {
    return Promise.resolve();
  }

  private stateOf(actionId: string) {
    let state = this.states.get(actionId);
    if (state === undefined) {
      state = { status: undefined, attempts: [] };
      this.states.set(actionId, state);
    }
    return state;
  }
}
