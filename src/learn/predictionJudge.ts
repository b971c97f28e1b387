import { isBreaching } from '../policy/breach.js';

/**
 * The "learn" step: after a predictive (pre-emptive) fire, watch the series until the end of
 * the prediction's horizon and say whether the predicted breach came.
 *
 * Verdicts (event time; `effectAtMs` = decision + the policy's lead time, when the target
 * should have been ready):
 * - `too_late`   the breach began before the action could take effect;
 * - `in_time`    the breach came, after the target was ready: the forecast was right and early
 *                enough (for demand metrics such as requests/min, which capacity does not
 *                lower, this is what success looks like);
 * - `prevented`  no breach, but the series did move toward the threshold — it closed at least
 *                half of the gap it had at the decision — so the rise was real and the action
 *                plausibly stopped it (for utilisation metrics, which capacity lowers);
 * - `false_alarm` no breach and no such move: the forecast saw a rise that did not happen.
 * The prevented/false-alarm split is a heuristic (the counterfactual is unobservable) and is
 * documented as such; the executor's outcome (executed or not) is joined by the caller. Where
 * the counterfactual is observable — a per-replica series whose unit an executed scale changed,
 * re-expressed by {@link PredictionJudge.rescale} — a breach is judged in the decision's unit
 * and "no breach" is a false alarm.
 */
export type PredictionVerdict = 'too_late' | 'in_time' | 'prevented' | 'false_alarm';

export interface PredictionWatch {
  readonly fireId: string;
  readonly policy: string;
  readonly series: string;
  readonly threshold: number;
  readonly direction: 'above' | 'below';
  readonly inclusive: boolean;
  /** The sample that fired. */
  readonly valueAtDecision: number;
  readonly observedAtMs: number;
  /** observedAtMs + the policy's lead time. */
  readonly effectAtMs: number;
  /** observedAtMs + the prediction horizon: the forecast claimed a breach before this. */
  readonly windowEndMs: number;
  readonly predictedBreachAtMs: number;
  /** P(breach within the horizon) the forecast claimed when the policy fired. */
  readonly claimedProbability: number;
}

export interface JudgedPrediction {
  readonly watch: PredictionWatch;
  readonly verdict: PredictionVerdict;
  /** When the breach began (event time), if it came. */
  readonly breachAtMs?: number;
  /** breachAtMs − observedAtMs: how far ahead the action came. */
  readonly leadMs?: number;
  /** Smallest distance to the threshold seen in the window, in the metric's unit. */
  readonly closestGap: number;
}

interface Tracking {
  readonly watch: PredictionWatch;
  breachAtMs: number | undefined;
  closestGap: number;
  /**
   * Multiplies a newly observed value into the unit the forecast had at the decision (1 until
   * an executed scale changes the unit of a per-replica series, see {@link PredictionJudge.rescale}).
   */
  toDecisionUnit: number;
  /** The unit changed during the window: the counterfactual was observed, see verdictOf. */
  rescaled: boolean;
}

/** Pure and bounded: at most `maxWatches` open watches (the oldest is judged early if full). */
export class PredictionJudge {
  private readonly bySeries = new Map<string, Tracking[]>();
  private open = 0;

  constructor(private readonly maxWatches = 10_000) {}

  get openWatches(): number {
    return this.open;
  }

  /** True when a series has open watches (cheap check for the per-sample path). */
  watches(series: string): boolean {
    return this.bySeries.has(series);
  }

  watch(watch: PredictionWatch): JudgedPrediction[] {
    const judged: JudgedPrediction[] = [];
    if (this.open >= this.maxWatches) judged.push(...this.closeOldest());
    const list = this.bySeries.get(watch.series) ?? [];
    list.push({
      watch,
      breachAtMs: undefined,
      closestGap: gapOf(watch, watch.valueAtDecision),
      toDecisionUnit: 1,
      rescaled: false,
    });
    this.bySeries.set(watch.series, list);
    this.open++;
    return judged;
  }

  /**
   * Feeds one sample of a watched series; returns the watches it closed. Called for every
   * sample of a watched series: the list is compacted in place and nothing is allocated unless
   * a watch closes.
   */
  observe(series: string, timestampMs: number, value: number): readonly JudgedPrediction[] {
    const list = this.bySeries.get(series);
    if (list === undefined) return NONE_JUDGED;
    let judged: JudgedPrediction[] | undefined;
    const before = list.length;
    let kept = 0;
    for (const t of list) {
      const verdict = observeOne(t, timestampMs, value);
      if (verdict === undefined) list[kept++] = t;
      else (judged ??= []).push(verdict);
    }
    if (judged === undefined) return NONE_JUDGED;
    list.length = kept;
    this.replace(series, list, before);
    return judged;
  }

  /**
   * The unit of `series` changed by `factor` (new value = old value × factor: a per-replica
   * metric after its target went from n to m replicas has factor n / m), as the executor
   * reports an executed scale. The open watches go on judging the *forecast*, which was made in
   * the unit at the decision: would the series have breached with the capacity it had then?
   * Without this, a scale-up that worked reads as a false alarm (the per-replica value fell)
   * and one that was too small as a needed fire — the action's effect, not the forecast's
   * accuracy. Applies to the samples observed from now on (news of a change arrives before the
   * samples measured after it in the replay; live, a late outcome leaves a few samples judged
   * in the new unit, the cautious side for a scale-up).
   */
  rescale(series: string, factor: number): void {
    if (!(factor > 0) || !Number.isFinite(factor)) return;
    for (const t of this.bySeries.get(series) ?? []) {
      t.toDecisionUnit /= factor;
      t.rescaled = true;
    }
  }

  /** Closes every watch whose window ended before `eventTimeMs` (series that went quiet). */
  expire(eventTimeMs: number): readonly JudgedPrediction[] {
    let judged: JudgedPrediction[] | undefined;
    for (const [series, list] of this.bySeries) {
      // Runs every batch while a watch is open: lists with nothing due are left untouched.
      if (!list.some((t) => t.watch.windowEndMs < eventTimeMs)) continue;
      const keep = list.filter((t) => {
        if (t.watch.windowEndMs >= eventTimeMs) return true;
        (judged ??= []).push(verdictOf(t));
        return false;
      });
      this.replace(series, keep, list.length);
    }
    return judged ?? NONE_JUDGED;
  }

  private closeOldest(): JudgedPrediction[] {
    let oldest: { series: string; t: Tracking } | undefined;
    for (const [series, list] of this.bySeries) {
      for (const t of list) {
        if (oldest === undefined || t.watch.observedAtMs < oldest.t.watch.observedAtMs)
          oldest = { series, t };
      }
    }
    if (oldest === undefined) return [];
    const list = this.bySeries.get(oldest.series) ?? [];
    const target = oldest.t;
    this.replace(
      oldest.series,
      list.filter((t) => t !== target),
      list.length,
    );
    return [verdictOf(target)];
  }

  private replace(series: string, keep: Tracking[], before: number): void {
    this.open -= before - keep.length;
    if (keep.length === 0) this.bySeries.delete(series);
    else this.bySeries.set(series, keep);
  }
}

/** What `observe` returns when no watch closed (shared: nothing is allocated per sample). */
const NONE_JUDGED: readonly JudgedPrediction[] = Object.freeze([]);

/**
 * One sample against one open watch: its verdict when the sample closes it (past its window,
 * or the first breach), else undefined after noting how close the series came.
 */
function observeOne(t: Tracking, timestampMs: number, value: number): JudgedPrediction | undefined {
  if (timestampMs <= t.watch.observedAtMs) return undefined;
  if (timestampMs > t.watch.windowEndMs) return verdictOf(t);
  const asDecided = value * t.toDecisionUnit;
  const gap = gapOf(t.watch, asDecided);
  if (gap < t.closestGap) t.closestGap = gap;
  if (t.breachAtMs === undefined && isBreaching(t.watch, asDecided)) {
    t.breachAtMs = timestampMs;
    // The verdict is known at the first breaching sample.
    return verdictOf(t);
  }
  return undefined;
}

/** Distance to the threshold on the safe side (0 at or beyond it). */
function gapOf(watch: PredictionWatch, value: number): number {
  return Math.max(
    0,
    watch.direction === 'above' ? watch.threshold - value : value - watch.threshold,
  );
}

function verdictOf(t: Tracking): JudgedPrediction {
  const { watch } = t;
  if (t.breachAtMs !== undefined) {
    return {
      watch,
      verdict: t.breachAtMs < watch.effectAtMs ? 'too_late' : 'in_time',
      breachAtMs: t.breachAtMs,
      leadMs: t.breachAtMs - watch.observedAtMs,
      closestGap: 0,
    };
  }
  // Re-expressed in the decision's unit, "no breach" is observed, not inferred: what the
  // series did is what it would have done without the action, so nothing was prevented.
  if (t.rescaled) return { watch, verdict: 'false_alarm', closestGap: t.closestGap };
  const initialGap = gapOf(watch, watch.valueAtDecision);
  const movedToward = t.closestGap <= initialGap / 2;
  return { watch, verdict: movedToward ? 'prevented' : 'false_alarm', closestGap: t.closestGap };
}
