import {
  ActionEnvelopeSchema,
  cooldownKeyOf,
  targetKeyOf,
  type ActionEnvelope,
} from '../dispatch/envelope.js';
import { isRetriable } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { BreakerOpenError, type CircuitBreakers } from './circuitBreakers.js';
import {
  backoffMs,
  effectAlreadyApplied,
  gate,
  planAction,
  type AllowedTarget,
  type DecisionInput,
} from './decide.js';
import type { ExecutorMetrics } from '../observability/executorMetrics.js';
import type { TargetHistory } from './guardrails.js';
import type {
  ExecState,
  ExecutorStore,
  FinishEffects,
  Intent,
  StreamEntry,
} from './executorStore.js';
import {
  OUTCOME_SCHEMA_VERSION,
  type ActionPlan,
  type Attempt,
  type Outcome,
  type OutcomeReason,
} from './outcome.js';
import type { EffectReport, TargetDriver } from './targetDriver.js';

/** A target from the executor's allow-list, with the driver that acts on it. */
export interface ResolvedTarget {
  readonly allowed: AllowedTarget;
  readonly driver: TargetDriver;
  readonly settings: unknown;
}

/** The allow-list: only targets it resolves are ever acted on. */
export interface ExecutorTargets {
  resolve(target: ActionEnvelope['target']): ResolvedTarget | undefined;
}

export interface ExecutorSettings {
  readonly dryRun: boolean;
  /** Kill switch from the executor's own config or environment (Redis has the other one). */
  readonly killSwitch: string | undefined;
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** An entry idle this long in another consumer's pending list is re-claimed. */
  readonly visibilityTimeoutMs: number;
  /** A driver call taking longer is aborted (and counts as a retriable failure). */
  readonly actionTimeoutMs: number;
  readonly maxActionAgeMs: number;
  readonly batchSize: number;
  readonly blockMs: number;
}

export interface ExecutorDeps {
  readonly store: ExecutorStore;
  readonly targets: ExecutorTargets;
  readonly breakers: CircuitBreakers;
  readonly settings: ExecutorSettings;
  readonly metrics: ExecutorMetrics;
  readonly log: Logger;
  readonly nowMs: () => number;
  readonly random: () => number;
  /** Test-only: called right after a driver changed a target, before the outcome is recorded. */
  readonly afterEffect?: (actionId: string) => void;
}

/**
 * The executor: consumes the actions stream through a consumer group and carries each action
 * out at most once in effect.
 *
 * Per entry: validate → already done? ack → take the action's lease → (first time) gate on
 * allow-list, rejection, kill switch, age, capability, approval, rate limit and breaker →
 * observe the target → plan within guardrails → journal the intent → call the driver through
 * the target's breaker, retrying retriable failures with backoff → record the outcome, the
 * target history and the ack in one atomic step. An executor that dies anywhere leaves the
 * entry pending; another one (or this one restarted) re-claims it after the visibility
 * timeout, finds the journaled intent and finishes it without repeating the effect (see
 * TargetDriver for how each action type makes that possible).
 */
export class Executor {
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private ready = false;

  constructor(private readonly deps: ExecutorDeps) {
    deps.breakers.onClosed((targetKey) => void this.resumeAfterBreaker(targetKey));
  }

  /** Starts consuming; resolves once the consumer group exists. */
  async start(): Promise<void> {
    await this.deps.store.ensureGroup();
    this.ready = true;
    this.loopDone = this.loop();
  }

  isReady(): boolean {
    return this.ready && !this.stopping;
  }

  /** Stops reading, lets in-flight actions finish (they keep their leases), then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loopDone;
  }

  /** Processes what is there once: entries to re-claim, then new ones. */
  private async pollOnce(blockMs: number): Promise<void> {
    const { store, settings } = this.deps;
    const reclaimed = await store.reclaim(settings.visibilityTimeoutMs, settings.batchSize);
    if (reclaimed.length > 0) {
      this.deps.metrics.reclaimed.inc(reclaimed.length);
      this.deps.log.info(
        {
          event: 'actions_reclaimed',
          count: reclaimed.length,
          entries: reclaimed.map((e) => e.id),
        },
        `re-claimed ${reclaimed.length} action(s) left by a stopped or dead executor`,
      );
    }
    const fresh = this.stopping
      ? []
      : await store.readNew(settings.batchSize, reclaimed.length > 0 ? 0 : blockMs);
    const entries = [...reclaimed, ...fresh];
    await this.handleAll(entries);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.pollOnce(this.deps.settings.blockMs);
        if (failures > 0)
          this.deps.log.info({ event: 'executor_recovered' }, 'Redis reachable again');
        failures = 0;
        this.ready = true;
      } catch (error) {
        if (this.stopping) break;
        failures++;
        this.ready = false;
        const waitMs = backoffMs(failures, 200, 5_000, this.deps.random());
        this.deps.log.warn(
          { event: 'executor_poll_failed', error: String(error), retryInMs: waitMs },
          'could not read the actions stream; retrying',
        );
        await sleep(waitMs, this.abort.signal);
      }
    }
  }

  /** Entries for one target run in order; different targets run concurrently. */
  private async handleAll(entries: readonly StreamEntry[]): Promise<void> {
    const byTarget = new Map<string, { entry: StreamEntry; parsed: ParsedEntry }[]>();
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      // Invalid entries group together; they are only dead-lettered.
      const key = parsed.ok ? targetKeyOf(parsed.envelope.target) : '';
      const list = byTarget.get(key) ?? [];
      list.push({ entry, parsed });
      byTarget.set(key, list);
    }
    await Promise.all(
      [...byTarget.values()].map(async (list) => {
        for (const { entry, parsed } of list) await this.handle(entry, parsed);
      }),
    );
  }

  /** Handles one entry end to end; never throws for a bad action (only for Redis failures). */
  private async handle(entry: StreamEntry, parsed: ParsedEntry): Promise<void> {
    const { store, metrics, log } = this.deps;
    if (!parsed.ok) {
      metrics.invalid.inc();
      log.warn(
        { event: 'action_invalid', entryId: entry.id, reason: parsed.reason },
        'not an action envelope; dead-lettered',
      );
      await store.rejectEntry(entry, parsed.reason);
      return;
    }
    const envelope = parsed.envelope;
    if (!(await store.acquireLease(envelope.actionId, this.deps.settings.visibilityTimeoutMs))) {
      // Another executor works on this action right now; it will record and ack.
      metrics.leaseBusy.inc();
      return;
    }
    const keepAlive = this.keepAlive(entry.id, envelope.actionId);
    try {
      // Read under the lease: another executor may have finished it just before.
      const current = await store.state(envelope.actionId);
      if (current.status === 'done') {
        metrics.duplicates.inc();
        await store.ack(entry.id);
        return;
      }
      await this.process(entry, envelope, current);
    } finally {
      clearInterval(keepAlive);
      await store.releaseLease(envelope.actionId).catch(() => undefined);
    }
  }

  private keepAlive(entryId: string, actionId: string): NodeJS.Timeout {
    const { store, settings, log } = this.deps;
    const timer = setInterval(
      () => {
        Promise.all([
          store.keepClaimed(entryId),
          store.renewLease(actionId, settings.visibilityTimeoutMs),
        ]).catch((error: unknown) =>
          log.warn(
            { event: 'lease_renew_failed', actionId, error: String(error) },
            'could not renew lease',
          ),
        );
      },
      Math.max(50, Math.floor(settings.visibilityTimeoutMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async process(
    entry: StreamEntry,
    envelope: ActionEnvelope,
    state: ExecState,
  ): Promise<void> {
    const { store, targets, settings, nowMs } = this.deps;
    const startedAtMs = nowMs();
    const resolved = targets.resolve(envelope.target);
    const handedToHuman = state.status === 'awaiting_approval' || state.status === 'deferred';
    // Only an action handed to a human can carry a decision (the admin script checks that).
    const approval = handedToHuman ? await store.approval(envelope.actionId) : undefined;
    if (handedToHuman && approval === undefined) {
      // A repeat delivery of an action still waiting for a human: already recorded.
      this.deps.metrics.duplicates.inc();
      await store.ack(entry.id);
      return;
    }
    const ctx = {
      entry,
      envelope,
      startedAtMs,
      attempts: [...state.attempts],
      approvedBy: approval?.by,
    };
    let intent = state.intent;
    if (intent === undefined) {
      // The gate refuses a target off the allow-list before it looks at history or the kill
      // switch, so neither is read for one.
      const [history, killSwitch] =
        resolved === undefined
          ? [NO_HISTORY, undefined]
          : await Promise.all([
              store.history(
                targetKeyOf(envelope.target),
                nowMs() - resolved.allowed.guardrails.maxActions.window,
              ),
              this.killSwitch(),
            ]);
      const input: DecisionInput = {
        envelope,
        target: resolved?.allowed,
        killSwitch,
        dryRun: settings.dryRun,
        approval,
        breakerOpen: resolved !== undefined && this.deps.breakers.isOpen(resolved.allowed.key),
        history,
        maxActionAgeMs: settings.maxActionAgeMs,
        nowMs: nowMs(),
      };
      const verdict = gate(input);
      if (verdict.kind === 'skip')
        return this.finish(ctx, 'skipped', verdict.reason, verdict.message, {});
      if (verdict.kind === 'defer') {
        return this.finish(ctx, 'deferred', verdict.reason, verdict.message, {
          escalate: { envelope: JSON.stringify(envelope) },
        });
      }
      const target = resolved as ResolvedTarget;
      let observation;
      try {
        observation = await this.deps.breakers.run(target.allowed.key, () =>
          // Observing only needs a way to give up (ObserveContext); no intent exists yet.
          target.driver.observe(target.settings, {
            signal: AbortSignal.timeout(settings.actionTimeoutMs),
          }),
        );
      } catch (error) {
        return this.failedBeforeIntent(ctx, target, error);
      }
      const decision = planAction({ ...input, target: target.allowed }, observation);
      if (decision.kind === 'skip') {
        return this.finish(ctx, 'skipped', decision.reason, decision.message, {}, decision.plan);
      }
      intent = { plan: decision.plan, atMs: nowMs(), message: decision.message };
      await store.saveIntent(envelope.actionId, intent);
    } else {
      this.deps.metrics.resumed.inc();
      this.deps.log.info(
        {
          event: 'action_resumed',
          actionId: envelope.actionId,
          plan: intent.plan,
          attempts: state.attempts.length,
        },
        `resuming ${envelope.actionId} after an executor stopped mid-action: ${intent.message}`,
      );
      if (resolved === undefined) {
        // The allow-list changed while the action was in flight: refuse rather than act.
        return this.finish(
          ctx,
          'skipped',
          'target_not_allowed',
          'target left the allow-list mid-action',
          {},
          intent.plan,
        );
      }
    }
    await this.execute(ctx, resolved as ResolvedTarget, intent, state.intent !== undefined);
  }

  private async execute(
    ctx: Ctx,
    target: ResolvedTarget,
    intent: Intent,
    resumed: boolean,
  ): Promise<void> {
    const { settings, nowMs, log } = this.deps;
    const { envelope } = ctx;
    for (let attempt = ctx.attempts.length + 1; ; attempt++) {
      const killSwitch = await this.killSwitch();
      if (killSwitch !== undefined) {
        return this.finish(
          ctx,
          'skipped',
          'kill_switch',
          `kill switch turned on (${killSwitch}) before attempt ${attempt}`,
          {},
          intent.plan,
        );
      }
      const started = nowMs();
      try {
        const checkFirst = resumed || attempt > 1;
        const report = await this.deps.breakers.run(target.allowed.key, () =>
          this.apply(
            target,
            intent,
            this.driverContext(envelope, intent.atMs, attempt),
            checkFirst,
          ),
        );
        this.deps.metrics.attempts.inc({ target: target.allowed.key, result: 'ok' });
        this.deps.metrics.actionSeconds.observe(
          { type: envelope.type },
          (nowMs() - started) / 1000,
        );
        this.deps.afterEffect?.(envelope.actionId);
        const plan = intent.plan;
        const effects: FinishEffects = {
          executedAtMs: nowMs(),
          ...(plan.op === 'scale' ? { replicas: plan.toReplicas } : {}),
          ...(plan.op === 'scale' && plan.toReplicas > plan.fromReplicas
            ? { scaledUpAtMs: nowMs() }
            : {}),
        };
        return await this.finish(
          ctx,
          'succeeded',
          report.alreadyDone ? 'already_done' : 'executed',
          report.summary,
          effects,
          plan,
          report,
        );
      } catch (error) {
        // An open breaker refuses the call without running it: the action goes to a human.
        if (error instanceof BreakerOpenError) {
          return this.deferForBreaker(ctx, error.message, intent.plan);
        }
        const { failure, final } = await this.recordFailure(ctx, target, error);
        if (final !== undefined) {
          return this.finish(
            ctx,
            'failed',
            final,
            `${attempt} attempt(s) failed; last: ${failure.error}`,
            { deadLetter: { envelope: JSON.stringify(envelope) } },
            intent.plan,
          );
        }
        const waitMs = backoffMs(
          attempt,
          settings.initialBackoffMs,
          settings.maxBackoffMs,
          this.deps.random(),
        );
        log.warn(
          {
            event: 'action_attempt_failed',
            actionId: envelope.actionId,
            attempt,
            error: failure.error,
            retryInMs: waitMs,
          },
          `attempt ${attempt} of ${envelope.actionId} failed; retrying in ${waitMs} ms`,
        );
        await sleep(waitMs, undefined);
      }
    }
  }

  /** Where the kill switch is on (own config or environment first, then Redis), if it is. */
  private async killSwitch(): Promise<string | undefined> {
    return (
      this.deps.settings.killSwitch ?? ((await this.deps.store.killSwitch()) ? 'redis' : undefined)
    );
  }

  /** Calls the driver for the journaled plan, first checking whether a crash left it done. */
  private async apply(
    target: ResolvedTarget,
    intent: Intent,
    ctx: ReturnType<Executor['driverContext']>,
    checkFirst: boolean,
  ): Promise<EffectReport & { alreadyDone?: boolean }> {
    const { driver, settings } = target;
    const plan = intent.plan;
    if (checkFirst && plan.op !== 'scale') {
      const now = await driver.observe(settings, ctx);
      if (effectAlreadyApplied(plan, now)) {
        return {
          summary: `${intent.message}: already done before the executor stopped (${plan.op === 'restart' ? `restart marker ${plan.markerBefore} → ${now.restartMarker}` : `revision ${plan.revisionBefore} → ${now.revision}`})`,
          alreadyDone: true,
        };
      }
    }
    switch (plan.op) {
      case 'scale':
        return driver.scale(settings, plan.toReplicas, ctx);
      case 'restart':
        return driver.restart(settings, ctx);
      case 'rollback':
        return driver.rollback(settings, ctx);
    }
  }

  private driverContext(envelope: ActionEnvelope, intentAtMs: number, attempt: number) {
    return {
      actionId: envelope.actionId,
      envelope,
      intentAtMs,
      attempt,
      // Not aborted by a graceful stop: a half-done change is worse than a late exit.
      signal: AbortSignal.timeout(this.deps.settings.actionTimeoutMs),
    };
  }

  /**
   * Records a failed attempt (journal, metric) and says whether it is the last: a permanent
   * error, or retries used up.
   */
  private async recordFailure(
    ctx: Ctx,
    target: ResolvedTarget,
    error: unknown,
  ): Promise<{ failure: Attempt; final: 'permanent_error' | 'retries_exhausted' | undefined }> {
    const retriable = isRetriable(error);
    const failure: Attempt = {
      attempt: ctx.attempts.length + 1,
      atMs: this.deps.nowMs(),
      error: errorText(error),
      retriable,
    };
    ctx.attempts.push(failure);
    this.deps.metrics.attempts.inc({
      target: target.allowed.key,
      result: retriable ? 'retriable_error' : 'permanent_error',
    });
    await this.deps.store.addAttempt(ctx.envelope.actionId, failure);
    const final = !retriable
      ? 'permanent_error'
      : failure.attempt >= this.deps.settings.maxAttempts
        ? 'retries_exhausted'
        : undefined;
    return { failure, final };
  }

  /**
   * A target's breaker closed: the actions it deferred go back on the actions stream, so a
   * scale-out that met a briefly unreachable API still happens once the API answers (the gate
   * runs again: an action older than `maxActionAge` is recorded as expired, not carried out).
   * Actions whose type needs a human's approval stay with the human: the approval they had was
   * used up when they were deferred.
   */
  private async resumeAfterBreaker(targetKey: string): Promise<void> {
    const { store, targets, metrics, log, nowMs } = this.deps;
    try {
      const deferred = await store.deferredByBreaker(targetKey, RESUME_AFTER_BREAKER_LIMIT);
      const resumed: string[] = [];
      for (const action of deferred) {
        const parsed = parseEntry({
          id: action.actionId,
          fields: { actionId: action.actionId, envelope: action.envelope },
        });
        if (!parsed.ok) continue;
        const allowed = targets.resolve(parsed.envelope.target)?.allowed;
        if (allowed === undefined || allowed.requireApproval.includes(parsed.envelope.type))
          continue;
        const by = `healcast (circuit breaker of ${targetKey} closed)`;
        if (await store.resumeDeferred(action.actionId, by, nowMs())) resumed.push(action.actionId);
      }
      if (resumed.length > 0) {
        metrics.breakerResumed.inc({ target: targetKey }, resumed.length);
        log.info(
          { event: 'breaker_deferred_resumed', target: targetKey, actionIds: resumed },
          `circuit breaker of ${targetKey} closed: ${resumed.length} deferred action(s) back on the actions stream`,
        );
      }
    } catch (error) {
      // The actions stay deferred for a human (healcast approvals lists them).
      log.warn(
        { event: 'breaker_resume_failed', target: targetKey, error: errorText(error) },
        `could not resume the actions ${targetKey}'s breaker deferred; they wait for a human`,
      );
    }
  }

  /** Hands the action to a human because its target's breaker is open. */
  private deferForBreaker(ctx: Ctx, message: string, plan?: ActionPlan): Promise<void> {
    return this.finish(
      ctx,
      'deferred',
      'breaker_open',
      message,
      { escalate: { envelope: JSON.stringify(ctx.envelope) } },
      plan,
    );
  }

  private async failedBeforeIntent(
    ctx: Ctx,
    target: ResolvedTarget,
    error: unknown,
  ): Promise<void> {
    if (error instanceof BreakerOpenError) return this.deferForBreaker(ctx, error.message);
    // Observing failed: nothing was changed, so this is an ordinary failed attempt.
    const { failure, final } = await this.recordFailure(ctx, target, error);
    if (final !== undefined) {
      return this.finish(
        ctx,
        'failed',
        final,
        `could not observe ${target.allowed.key}: ${failure.error}`,
        { deadLetter: { envelope: JSON.stringify(ctx.envelope) } },
      );
    }
    // Leave the entry pending: it is re-claimed after the visibility timeout and tried again.
    this.deps.log.warn(
      { event: 'action_observe_failed', actionId: ctx.envelope.actionId, error: failure.error },
      `could not observe ${target.allowed.key}; the action stays pending and is retried`,
    );
  }

  private async finish(
    ctx: Ctx,
    status: Outcome['status'],
    reason: OutcomeReason,
    message: string,
    effects: FinishEffects,
    plan?: ActionPlan,
    effect?: EffectReport,
  ): Promise<void> {
    const { envelope } = ctx;
    const outcome: Outcome = {
      schema: OUTCOME_SCHEMA_VERSION,
      actionId: envelope.actionId,
      fireId: envelope.fireId,
      policy: envelope.policy,
      cooldownKey: cooldownKeyOf(envelope.policy, envelope.target),
      target: envelope.target,
      type: envelope.type,
      trigger: envelope.trigger,
      status,
      reason,
      message,
      ...(plan === undefined ? {} : { plan }),
      ...(effect === undefined
        ? {}
        : {
            effect: {
              summary: effect.summary,
              ...(effect.details === undefined ? {} : { details: effect.details }),
            },
          }),
      attempts: ctx.attempts,
      dryRun: this.deps.settings.dryRun,
      observedAtMs: envelope.observedAtMs,
      decidedAtMs: envelope.decidedAtMs,
      ...(envelope.evidence.prediction === undefined
        ? {}
        : { predictedBreachAtMs: envelope.evidence.prediction.predictedBreachAtMs }),
      startedAtMs: ctx.startedAtMs,
      finishedAtMs: this.deps.nowMs(),
      executor: this.deps.store.consumer,
      ...(ctx.approvedBy === undefined ? {} : { approvedBy: ctx.approvedBy }),
    };
    await this.deps.store.finish(ctx.entry.id, outcome, effects);
    const { metrics, log } = this.deps;
    metrics.outcomes.inc({ type: envelope.type, status, reason });
    if (effects.escalate) metrics.escalations.inc({ reason });
    if (effects.deadLetter) metrics.deadLetters.inc({ reason });
    const level = status === 'failed' ? 'error' : status === 'deferred' ? 'warn' : 'info';
    log[level](
      {
        event: `action_${status}`,
        actionId: envelope.actionId,
        policy: envelope.policy,
        target: envelope.target,
        type: envelope.type,
        reason,
        plan,
        attempts: ctx.attempts.length,
      },
      `${envelope.type} ${targetKeyOf(envelope.target)}: ${status} (${reason}) — ${message}`,
    );
  }
}

interface Ctx {
  readonly entry: StreamEntry;
  readonly envelope: ActionEnvelope;
  readonly startedAtMs: number;
  readonly attempts: Attempt[];
  readonly approvedBy: string | undefined;
}

type ParsedEntry = { ok: true; envelope: ActionEnvelope } | { ok: false; reason: string };

/** What the gate is given for a target it refuses before looking at history. */
const NO_HISTORY: TargetHistory = { executedAtMs: [] };

/** Most deferred actions put back at once when a breaker closes (the rest wait for a human). */
const RESUME_AFTER_BREAKER_LIMIT = 100;

function parseEntry(entry: StreamEntry): ParsedEntry {
  const raw = entry.fields['envelope'];
  if (raw === undefined) return { ok: false, reason: 'entry has no "envelope" field' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `envelope is not JSON: ${String(error)}` };
  }
  const result = ActionEnvelopeSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      ok: false,
      reason: `envelope invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`,
    };
  }
  if (entry.fields['actionId'] !== undefined && entry.fields['actionId'] !== result.data.actionId) {
    return { ok: false, reason: 'entry actionId and envelope actionId differ' };
  }
  return { ok: true, envelope: result.data };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
