import type { Outcome } from '../execute/outcome.js';
import type { JudgedPrediction } from './predictionJudge.js';

/** Whether the executor carried out the actions of a judged fire. */
export type Executed = 'yes' | 'no' | 'unknown';

export interface LearnedPrediction extends JudgedPrediction {
  readonly executed: Executed;
}

/**
 * Where the cooldown of a succeeded action should start: the worker's cooldown is anchored at
 * the firing sample's event time, but the target only started changing once the executor
 * finished, so the anchor moves by how long execution took. Undefined when nothing changed.
 */
export function cooldownAnchorAfter(outcome: Outcome): number | undefined {
  if (outcome.status !== 'succeeded' || outcome.dryRun) return undefined;
  return outcome.observedAtMs + Math.max(0, outcome.finishedAtMs - outcome.decidedAtMs);
}

/**
 * Joins the executor's outcomes (by fire id) with the judge's verdicts: a verdict waits up to
 * `waitMs` of wall time for its outcome, then is reported as `unknown` (no executor running,
 * or a forecast-only fire). Bounded: old outcomes are forgotten after `keepMs`.
 */
export class OutcomeLedger {
  private readonly executedByFire = new Map<string, { executed: boolean; atMs: number }>();
  private readonly waiting: { judged: JudgedPrediction; sinceMs: number }[] = [];

  constructor(
    private readonly waitMs = 60_000,
    private readonly keepMs = 3_600_000,
  ) {}

  recordOutcome(outcome: Outcome, nowMs: number): void {
    // Of a fire's several actions, one that changed something makes the fire executed.
    const executed = outcome.status === 'succeeded' && !outcome.dryRun;
    const known = this.executedByFire.get(outcome.fireId);
    this.executedByFire.set(outcome.fireId, {
      executed: executed || (known?.executed ?? false),
      atMs: nowMs,
    });
  }

  recordVerdicts(judged: readonly JudgedPrediction[], nowMs: number): void {
    for (const j of judged) this.waiting.push({ judged: j, sinceMs: nowMs });
  }

  /** Verdicts whose outcome is known, or that waited long enough. */
  drain(nowMs: number): LearnedPrediction[] {
    const out: LearnedPrediction[] = [];
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i] as { judged: JudgedPrediction; sinceMs: number };
      const outcome = this.executedByFire.get(w.judged.watch.fireId);
      if (outcome === undefined && nowMs - w.sinceMs < this.waitMs) continue;
      out.push({
        ...w.judged,
        executed: outcome === undefined ? 'unknown' : outcome.executed ? 'yes' : 'no',
      });
      this.waiting.splice(i, 1);
    }
    for (const [fireId, o] of this.executedByFire) {
      if (nowMs - o.atMs > this.keepMs) this.executedByFire.delete(fireId);
    }
    return out.reverse();
  }
}
