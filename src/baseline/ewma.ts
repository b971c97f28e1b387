import { z } from 'zod';
import { DurationMs } from '../config/duration.js';

/** Baseline settings shared by every series. */
export const BaselineConfigSchema = z
  .object({
    /** Time after which an observation's weight in the mean and variance has halved. */
    halfLife: DurationMs.default(30 * 60_000),
    /** Samples a series must have seen before its anomaly score is trusted (score is 0 before). */
    warmupSamples: z.number().int().min(1).default(30),
    /** Half-width of the baseline band in standard deviations. */
    bandSigmas: z.number().positive().default(3),
    /**
     * Floor of the standard deviation relative to |mean|: a flat series has zero variance,
     * and without a floor its first tiny wobble would score as a certain anomaly.
     */
    minStdRatio: z.number().min(0).default(0.01),
    /** Absolute floor of the standard deviation (same unit as the metric). */
    minStdAbs: z.number().min(0).default(1e-9),
  })
  .strict();
/** Validated baseline settings; `halfLife` is in milliseconds after parsing. */
export type BaselineConfig = z.output<typeof BaselineConfigSchema>;

/**
 * EWMA state of many series in struct-of-arrays form: one slot per series, so a million
 * series cost a few typed arrays rather than a million objects (see BENCHMARKS.md).
 */
export class BaselineArrays {
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly count: Uint32Array;
  readonly lastTsMs: Float64Array;

  constructor(readonly capacity: number) {
    this.mean = new Float64Array(capacity);
    this.variance = new Float64Array(capacity);
    this.count = new Uint32Array(capacity);
    this.lastTsMs = new Float64Array(capacity);
  }

  /** Forgets a slot so it can be reused by another series. */
  reset(slot: number): void {
    this.mean[slot] = 0;
    this.variance[slot] = 0;
    this.count[slot] = 0;
    this.lastTsMs[slot] = 0;
  }
}

/** What the baseline said about one observation, judged against the state *before* it. */
export interface BaselineReading {
  /** Baseline mean before this observation (NaN for the first one). */
  readonly mean: number;
  /** Standard deviation used for scoring, floors applied (NaN for the first one). */
  readonly stdDev: number;
  /** Distance from the mean in standard deviations (0 during warm-up). */
  readonly zScore: number;
  /** Anomaly score in [0, 1]: P(|Z| < z) for a normal Z; 0 during warm-up. */
  readonly score: number;
  /** Baseline band: mean ± bandSigmas·stdDev. */
  readonly lower: number;
  readonly upper: number;
  /** False while the series is warming up. */
  readonly warm: boolean;
}

const LN2 = Math.LN2;

/**
 * Scores `value` at `tsMs` against the slot's baseline, then folds it into the baseline.
 *
 * Time-aware EWMA: the smoothing factor is alpha = 1 − 2^(−Δt / halfLife), so irregular
 * sampling and gaps weigh observations by elapsed time rather than by count. The variance
 * uses the incremental exponentially weighted form (Finch 2009):
 *   d = x − μ;  μ' = μ + α·d;  σ²' = (1 − α)·(σ² + α·d²).
 * The caller guarantees `tsMs` is later than the slot's last timestamp and `value` finite.
 */
export function observe(
  state: BaselineArrays,
  slot: number,
  value: number,
  tsMs: number,
  config: BaselineConfig,
): BaselineReading {
  const count = state.count[slot] as number;
  if (count === 0) {
    state.mean[slot] = value;
    state.variance[slot] = 0;
    state.count[slot] = 1;
    state.lastTsMs[slot] = tsMs;
    return {
      mean: NaN,
      stdDev: NaN,
      zScore: 0,
      score: 0,
      lower: NaN,
      upper: NaN,
      warm: false,
    };
  }
  const mean = state.mean[slot] as number;
  const variance = state.variance[slot] as number;
  const stdDev = flooredStdDev(mean, variance, config);
  const warm = count >= config.warmupSamples;
  const zScore = warm ? Math.abs(value - mean) / stdDev : 0;
  const score = warm ? erf(zScore / Math.SQRT2) : 0;
  const half = config.bandSigmas * stdDev;

  const dtMs = tsMs - (state.lastTsMs[slot] as number);
  const alpha = -Math.expm1((-LN2 * dtMs) / config.halfLife);
  const diff = value - mean;
  const increment = alpha * diff;
  state.mean[slot] = mean + increment;
  state.variance[slot] = (1 - alpha) * (variance + diff * increment);
  state.count[slot] = count === 0xffffffff ? count : count + 1;
  state.lastTsMs[slot] = tsMs;

  return { mean, stdDev, zScore, score, lower: mean - half, upper: mean + half, warm };
}

/**
 * The baseline's σ for a mean and variance, floored (relative to the level and absolute) so a
 * flat series does not turn every wobble into an anomaly. Shared by `observe` and readers of a
 * slot's current band (the processor's evidence and inspection views).
 */
export function flooredStdDev(
  mean: number,
  variance: number,
  config: Pick<BaselineConfig, 'minStdRatio' | 'minStdAbs'>,
): number {
  return Math.max(Math.sqrt(variance), config.minStdRatio * Math.abs(mean), config.minStdAbs);
}

/**
 * Error function, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough for a score, and
 * far cheaper than a series expansion on the hot path.
 */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-ax * ax);
  return sign * y;
}
