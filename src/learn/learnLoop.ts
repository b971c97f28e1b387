import type { Outcome } from '../execute/outcome.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { BatchProcessor } from '../pipeline/batchProcessor.js';
import { cooldownAnchorAfter, OutcomeLedger } from './outcomeLedger.js';
import type { JudgedPrediction } from './predictionJudge.js';

/** Moves a durable cooldown later (the outcomes reader on Redis). */
export interface CooldownExtender {
  extendCooldown(cooldownKey: string, anchorMs: number): Promise<boolean>;
}

/**
 * The worker's "learn" step, wired: outcomes read back from the executors move cooldowns
 * (the cooldown starts when the action took effect) and are joined with the core's verdicts
 * on predictive fires into metrics and log lines.
 */
export class LearnLoop {
  private readonly ledger = new OutcomeLedger();
  private timer: NodeJS.Timeout | undefined;
  private processor: BatchProcessor | undefined;
  private reader: CooldownExtender | undefined;

  constructor(
    private readonly metrics: WorkerMetrics,
    private readonly log: Logger,
    private readonly nowMs: () => number,
  ) {}

  attach(processor: BatchProcessor, reader: CooldownExtender | undefined): void {
    this.processor = processor;
    this.reader = reader;
  }

  onOutcome(outcome: Outcome): void {
    this.metrics.actionOutcomes.inc({
      policy: outcome.policy,
      status: outcome.status,
      reason: outcome.reason,
    });
    this.ledger.recordOutcome(outcome, this.nowMs());
    const anchorMs = cooldownAnchorAfter(outcome);
    this.rescaleAfter(outcome, anchorMs);
    if (anchorMs === undefined || anchorMs <= outcome.observedAtMs || this.reader === undefined)
      return;
    this.reader.extendCooldown(outcome.cooldownKey, anchorMs).then(
      (changed) => {
        if (!changed) return;
        this.metrics.cooldownExtensions.inc({ policy: outcome.policy });
        this.processor?.syncCooldown(outcome.policy, outcome.cooldownKey, anchorMs);
      },
      (error: unknown) =>
        this.log.warn(
          { event: 'cooldown_extend_failed', error: String(error) },
          'could not extend a cooldown',
        ),
    );
  }

  /**
   * An executed scale changes the unit of the per-replica series of its target: the core
   * re-expresses their forecast history up to when it took effect (event time, like the
   * cooldown anchor). The outcomes reader hands each outcome over once per process; after a
   * restart the history is rebuilt from the replayed samples, in which that change is again
   * ahead of the values it applies to.
   */
  private rescaleAfter(outcome: Outcome, effectAtMs: number | undefined): void {
    const plan = outcome.plan;
    if (effectAtMs === undefined || plan?.op !== 'scale' || this.processor === undefined) return;
    this.processor.replicasChanged(outcome.target, plan.fromReplicas, plan.toReplicas, effectAtMs);
  }

  onJudgements(judged: readonly JudgedPrediction[]): void {
    this.ledger.recordVerdicts(judged, this.nowMs());
  }

  start(): void {
    this.timer = setInterval(() => this.drain(), 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.drain();
  }

  private drain(): void {
    for (const learned of this.ledger.drain(this.nowMs())) {
      const { watch, verdict, executed } = learned;
      this.metrics.predictionVerdicts.inc({ policy: watch.policy, verdict, executed });
      if (learned.leadMs !== undefined) {
        this.metrics.predictionLeadSeconds.observe({ policy: watch.policy }, learned.leadMs / 1000);
      }
      this.log.info(
        {
          event: 'prediction_judged',
          policy: watch.policy,
          series: watch.series,
          fireId: watch.fireId,
          verdict,
          executed,
          breachAtMs: learned.breachAtMs ?? null,
          leadMs: learned.leadMs ?? null,
        },
        `predictive fire of ${watch.policy} on ${watch.series}: ${verdict.replace('_', ' ')} (action executed: ${executed})`,
      );
    }
  }
}
