import { medianQuantileIndex, type FeatureSpec } from '../forecast/features.js';
import { sortedQuantile } from './baselines.js';
import type { WindowMeta } from './dataset.js';
import type { Series } from './traces.js';

/**
 * Scores of forecasts on the validation windows — the same code for the model and for every
 * baseline, so the comparison is like for like. Pure: forecasts and values in, numbers out.
 *
 * Aggregation: errors are averaged per series name first (the segments of one series pool),
 * then series count equally in a trace and overall, so a 30-second trace with ten times the
 * windows of a 5-minute one does not decide the result alone.
 */

/** One method's forecasts for a set of windows (value units). */
export interface MethodForecasts {
  readonly name: string;
  /** `count × horizonSteps` point forecasts (the model's median). */
  readonly point: Float64Array;
  /** `count × horizonSteps × quantiles`, step-major. */
  readonly quantiles: Float64Array;
}

/** Scores of one method on a group of series. */
export interface Scores {
  /** Mean absolute scaled error per horizon step (1-based step h at index h − 1). */
  readonly masePerStep: number[];
  /** Mean of `masePerStep` — the promotion rule's number. */
  readonly maseMean: number;
  /** MASE at 5/15/30 minutes ahead, over the series whose step lands on that time (else null). */
  readonly maseAtMinutes: Readonly<Record<string, number | null>>;
  /** Mean pinball loss over windows, steps and quantiles, in units of the window's σ. */
  readonly pinball: number | null;
  /** Share of actual values at or below the upper quantile forecast. */
  readonly upperCoverage: number | null;
  /** Windows scored. */
  readonly windows: number;
}

/** Scores of one method: overall, per trace (source) and per series name. */
export interface MethodEvaluation {
  readonly name: string;
  readonly overall: Scores;
  readonly byTrace: Record<string, Scores>;
  readonly bySeries: Record<string, Scores>;
}

/** The lead times (minutes ahead) reported besides the raw steps. */
export const MINUTE_MARKS = [5, 15, 30] as const;

/**
 * MASE scale of a series: the in-sample mean absolute one-step naive error over the training
 * part `values[0..trainEnd)`; NaN for a constant training part (MASE is undefined there).
 */
export function maseScale(values: ArrayLike<number>, trainEnd: number): number {
  let sum = 0;
  for (let t = 1; t < trainEnd; t++) {
    sum += Math.abs((values[t] as number) - (values[t - 1] as number));
  }
  const scale = trainEnd > 1 ? sum / (trainEnd - 1) : 0;
  return scale > 0 ? scale : Number.NaN;
}

/** Pinball (quantile) loss of forecast `f` of quantile level `tau` for actual `y`. */
export function pinballLoss(y: number, f: number, tau: number): number {
  const d = y - f;
  return d >= 0 ? tau * d : (tau - 1) * d;
}

/** Step (1-based) that lands `minutes` ahead at `stepMs`, if it is a whole step within the horizon. */
export function stepForMinutes(minutes: number, stepMs: number, horizon: number): number | undefined {
  const h = (minutes * 60_000) / stepMs;
  return Number.isInteger(h) && h >= 1 && h <= horizon ? h : undefined;
}

interface Accumulator {
  stepMs: number;
  source: string;
  ae: Float64Array;
  aeCount: Float64Array;
  pinball: number;
  pinballCount: number;
  covered: number;
  coverCount: number;
  windows: number;
}

function mean(xs: readonly number[]): number | null {
  const ok = xs.filter((x) => Number.isFinite(x));
  return ok.length === 0 ? null : ok.reduce((a, b) => a + b, 0) / ok.length;
}

function scoresOf(acc: Accumulator, horizon: number): Scores {
  const masePerStep = Array.from({ length: horizon }, (_, h) =>
    (acc.aeCount[h] as number) > 0 ? (acc.ae[h] as number) / (acc.aeCount[h] as number) : Number.NaN,
  );
  const maseAtMinutes: Record<string, number | null> = {};
  for (const m of MINUTE_MARKS) {
    const h = stepForMinutes(m, acc.stepMs, horizon);
    const v = h === undefined ? Number.NaN : (masePerStep[h - 1] as number);
    maseAtMinutes[`${m}m`] = Number.isFinite(v) ? v : null;
  }
  return {
    masePerStep,
    maseMean: mean(masePerStep) ?? Number.NaN,
    maseAtMinutes,
    pinball: acc.pinballCount > 0 ? acc.pinball / acc.pinballCount : null,
    upperCoverage: acc.coverCount > 0 ? acc.covered / acc.coverCount : null,
    windows: acc.windows,
  };
}

/** Averages scores with equal weight per member (NaN/null members are left out). */
export function averageScores(members: readonly Scores[], horizon: number): Scores {
  const masePerStep = Array.from(
    { length: horizon },
    (_, h) => mean(members.map((m) => m.masePerStep[h] as number)) ?? Number.NaN,
  );
  const maseAtMinutes: Record<string, number | null> = {};
  for (const m of MINUTE_MARKS) {
    maseAtMinutes[`${m}m`] = mean(members.map((s) => s.maseAtMinutes[`${m}m`] ?? Number.NaN));
  }
  return {
    masePerStep,
    maseMean: mean(masePerStep) ?? Number.NaN,
    maseAtMinutes,
    pinball: mean(members.map((m) => m.pinball ?? Number.NaN)),
    upperCoverage: mean(members.map((m) => m.upperCoverage ?? Number.NaN)),
    windows: members.reduce((n, m) => n + m.windows, 0),
  };
}

/**
 * Scores one method's forecasts of `windows` (validation windows of `series`, cut at
 * `splits`): MASE per step against each segment's training-part scale, pinball loss in units
 * of the window's σ (the model's training loss), and the coverage of the highest quantile.
 */
export function evaluateMethod(
  series: readonly Series[],
  splits: readonly number[],
  windows: readonly WindowMeta[],
  forecasts: MethodForecasts,
  spec: FeatureSpec,
): MethodEvaluation {
  const H = spec.horizonSteps;
  const Q = spec.quantiles.length;
  const scales = series.map((s, i) => maseScale(s.values, splits[i] as number));
  const byName = new Map<string, Accumulator>();
  windows.forEach((w, k) => {
    const s = series[w.series] as Series;
    let acc = byName.get(s.name);
    if (!acc) {
      acc = {
        stepMs: s.stepMs,
        source: s.source,
        ae: new Float64Array(H),
        aeCount: new Float64Array(H),
        pinball: 0,
        pinballCount: 0,
        covered: 0,
        coverCount: 0,
        windows: 0,
      };
      byName.set(s.name, acc);
    }
    acc.windows++;
    const scale = scales[w.series] as number;
    for (let h = 0; h < H; h++) {
      const y = s.values[w.end + 1 + h] as number;
      if (Number.isFinite(scale)) {
        acc.ae[h] = (acc.ae[h] as number) + Math.abs(y - (forecasts.point[k * H + h] as number)) / scale;
        acc.aeCount[h] = (acc.aeCount[h] as number) + 1;
      }
      const base = (k * H + h) * Q;
      for (let q = 0; q < Q; q++) {
        const f = forecasts.quantiles[base + q] as number;
        acc.pinball += pinballLoss(y / w.scale.scale, f / w.scale.scale, spec.quantiles[q] as number);
        acc.pinballCount++;
      }
      if (y <= (forecasts.quantiles[base + Q - 1] as number)) acc.covered++;
      acc.coverCount++;
    }
  });
  const bySeries: Record<string, Scores> = {};
  const traceMembers = new Map<string, Scores[]>();
  for (const [name, acc] of byName) {
    const scores = scoresOf(acc, H);
    bySeries[name] = scores;
    let list = traceMembers.get(acc.source);
    if (!list) traceMembers.set(acc.source, (list = []));
    list.push(scores);
  }
  const byTrace: Record<string, Scores> = {};
  for (const [source, members] of traceMembers) byTrace[source] = averageScores(members, H);
  return {
    name: forecasts.name,
    overall: averageScores(Object.values(bySeries), H),
    byTrace,
    bySeries,
  };
}

/** Breach-anticipation quality for one threshold level. */
export interface BreachScores {
  /** Threshold level: the training-part quantile of each series, e.g. `p95`. */
  readonly level: string;
  /** Alarms followed by an up-crossing within the horizon / all alarms (null without alarms). */
  readonly precision: number | null;
  /** Up-crossings with an alarm in the horizon before them / all up-crossings. */
  readonly recall: number | null;
  /** Median minutes from the first alarm to the up-crossing, over caught breaches. */
  readonly medianLeadMinutes: number | null;
  readonly breaches: number;
  readonly caught: number;
  readonly alarms: number;
  readonly trueAlarms: number;
}

/** Breach scores overall and per trace. */
export interface BreachEvaluation {
  readonly overall: BreachScores[];
  readonly byTrace: Record<string, BreachScores[]>;
}

/** Threshold levels scored: the training part's 95th and 99th percentiles. */
export const BREACH_LEVELS = [0.95, 0.99] as const;

interface BreachCounts {
  breaches: number;
  caught: number;
  alarms: number;
  trueAlarms: number;
  leads: number[];
}

function breachScores(level: number, c: BreachCounts): BreachScores {
  const leads = [...c.leads].sort((a, b) => a - b);
  return {
    level: `p${Math.round(level * 100)}`,
    precision: c.alarms > 0 ? c.trueAlarms / c.alarms : null,
    recall: c.breaches > 0 ? c.caught / c.breaches : null,
    medianLeadMinutes: leads.length > 0 ? sortedQuantile(leads, 0.5) : null,
    breaches: c.breaches,
    caught: c.caught,
    alarms: c.alarms,
    trueAlarms: c.trueAlarms,
  };
}

/**
 * Whether forecasts anticipate threshold breaches. Per series segment and level, the
 * threshold is that quantile of its training values. At each validation origin t where the
 * actual is not above the threshold, there is an *alarm* if the upper quantile forecast of any
 * step crosses it. A *breach* is an actual up-crossing at u (value at u − 1 at or below, at u
 * above) whose origin u − 1 was scored — one not already under way. It is *caught* when an
 * alarm was raised at some origin in [u − H, u − 1]; its lead is u minus the earliest such
 * origin. An alarm is *true* when an up-crossing follows within its horizon.
 *
 * `upper` holds the upper-quantile forecasts, `count × horizonSteps`, in `windows` order.
 */
export function evaluateBreaches(
  series: readonly Series[],
  splits: readonly number[],
  windows: readonly WindowMeta[],
  upper: Float64Array,
  horizon: number,
  levels: readonly number[] = BREACH_LEVELS,
): BreachEvaluation {
  const bySegment = new Map<number, number[]>();
  windows.forEach((w, k) => {
    let list = bySegment.get(w.series);
    if (!list) bySegment.set(w.series, (list = []));
    list.push(k);
  });
  const empty = (): BreachCounts => ({ breaches: 0, caught: 0, alarms: 0, trueAlarms: 0, leads: [] });
  const overall = levels.map(empty);
  const byTrace = new Map<string, BreachCounts[]>();
  for (const [segmentIndex, ks] of bySegment) {
    const s = series[segmentIndex] as Series;
    const values = s.values;
    const split = splits[segmentIndex] as number;
    const sortedTrain = Float64Array.from(values.subarray(0, split)).sort();
    let traceCounts = byTrace.get(s.source);
    if (!traceCounts) byTrace.set(s.source, (traceCounts = levels.map(empty)));
    levels.forEach((level, li) => {
      const threshold = sortedQuantile(sortedTrain, level);
      const upCross = (u: number): boolean =>
        u > 0 &&
        u < values.length &&
        (values[u - 1] as number) <= threshold &&
        (values[u] as number) > threshold;
      const alarmAt = new Map<number, boolean>();
      const counts = [overall[li] as BreachCounts, (traceCounts)[li] as BreachCounts];
      for (const k of ks) {
        const t = (windows[k] as WindowMeta).end;
        let alarm = false;
        if ((values[t] as number) <= threshold) {
          for (let h = 0; h < horizon; h++) {
            if ((upper[k * horizon + h] as number) > threshold) {
              alarm = true;
              break;
            }
          }
        }
        alarmAt.set(t, alarm);
        if (!alarm) continue;
        let followed = false;
        for (let u = t + 1; u <= t + horizon; u++) {
          if (upCross(u)) {
            followed = true;
            break;
          }
        }
        for (const c of counts) {
          c.alarms++;
          if (followed) c.trueAlarms++;
        }
      }
      for (const k of ks) {
        const u = (windows[k] as WindowMeta).end + 1;
        if (!upCross(u)) continue;
        let earliest: number | undefined;
        for (let t = u - horizon; t <= u - 1; t++) {
          if (alarmAt.get(t) === true) {
            earliest = t;
            break;
          }
        }
        for (const c of counts) {
          c.breaches++;
          if (earliest !== undefined) {
            c.caught++;
            c.leads.push(((u - earliest) * s.stepMs) / 60_000);
          }
        }
      }
    });
  }
  const traces: Record<string, BreachScores[]> = {};
  for (const [source, counts] of byTrace) {
    traces[source] = counts.map((c, i) => breachScores(levels[i] as number, c));
  }
  return {
    overall: overall.map((c, i) => breachScores(levels[i] as number, c)),
    byTrace: traces,
  };
}

/** Upper-quantile forecasts (`count × horizonSteps`) taken out of a full quantile array. */
export function upperQuantile(quantiles: Float64Array, count: number, spec: FeatureSpec): Float64Array {
  const H = spec.horizonSteps;
  const Q = spec.quantiles.length;
  const out = new Float64Array(count * H);
  for (let i = 0; i < count * H; i++) out[i] = quantiles[i * Q + Q - 1] as number;
  return out;
}

/** Median forecasts (`count × horizonSteps`): the quantile level nearest 0.5. */
export function medianQuantile(quantiles: Float64Array, count: number, spec: FeatureSpec): Float64Array {
  const H = spec.horizonSteps;
  const Q = spec.quantiles.length;
  const mid = medianQuantileIndex(spec.quantiles);
  const out = new Float64Array(count * H);
  for (let i = 0; i < count * H; i++) out[i] = quantiles[i * Q + mid] as number;
  return out;
}

/** The promotion decision for a trained model. */
export interface PromotionDecision {
  /** Mean MASE over steps below naive's (overall). */
  readonly beatsNaive: boolean;
  readonly promote: boolean;
  readonly reason: string;
}

/**
 * A model is promoted (becomes current) only when its mean MASE over the horizon steps beats
 * the naive forecast's — a model that cannot beat "nothing changes" would only add noise to
 * the worker's decisions — unless `force` says otherwise.
 */
export function promotionDecision(
  modelMaseMean: number,
  naiveMaseMean: number,
  force: boolean,
): PromotionDecision {
  const beatsNaive =
    Number.isFinite(modelMaseMean) && Number.isFinite(naiveMaseMean) && modelMaseMean < naiveMaseMean;
  const compare = `mean MASE ${fmt(modelMaseMean)} vs naive ${fmt(naiveMaseMean)}`;
  if (beatsNaive) return { beatsNaive, promote: true, reason: `beats naive (${compare})` };
  if (force) return { beatsNaive, promote: true, reason: `forced: does not beat naive (${compare})` };
  return { beatsNaive, promote: false, reason: `not promoted: does not beat naive (${compare})` };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}
