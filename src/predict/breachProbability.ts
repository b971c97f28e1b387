/**
 * Breach probability and ETA from one series' quantile forecast (pure).
 *
 * A forecaster gives, for each of the next H steps, a few quantiles of the value (e.g. p10,
 * p50, p90), step-major `[h][q]`, in the metric's unit. From them we rebuild a distribution
 * per step and ask: how likely is the value to be on the wrong side of the policy's threshold
 * at that step, and when is the breach expected?
 *
 * The per-step distribution (a deliberate, documented choice):
 * - Between the given quantiles the CDF is piecewise linear: the quantile points
 *   `(value_i, level_i)` are joined by straight lines. This assumes nothing beyond what the
 *   model said, and it reproduces the quantiles exactly (a threshold at the p50 gives 0.5).
 * - Beyond the outer quantiles the CDF follows a normal distribution fitted to the outer pair
 *   (the normal whose `level_1` and `level_n` quantiles are `value_1` and `value_n`). It meets
 *   the linear part exactly at both outer points, so the CDF is continuous, and it gives a
 *   thin, non-zero tail: a threshold just beyond p90 is "unlikely", not "impossible". The tail
 *   is symmetric, so for a skewed forecast it is a rough guess; only tail thresholds are
 *   affected, and those are the low-probability cases that rarely decide a firing.
 * - Equal quantile values (a degenerate forecast, e.g. a flat series) are a point mass: the
 *   CDF jumps there, which is why `inclusive` (>= vs >) matters. When every quantile is equal,
 *   or only one is given, the forecast is a single value and the probability is 0 or 1.
 * - Quantiles that cross (p10 above p50: models trained with pinball loss can do that) are
 *   sorted first: the "rearrangement" of Chernozhukov et al., which can only reduce the error
 *   of each quantile.
 */

import { medianQuantileIndex } from '../forecast/features.js';

/** The part of a policy's trigger this module needs (a subset of `BreachRule`). */
export interface BreachCondition {
  /** Threshold, in the metric's unit. */
  readonly threshold: number;
  /** `above`: the wrong side is above the threshold; `below`: the mirror. */
  readonly direction: 'above' | 'below';
  /** True for `>=` / `<=`: a value equal to the threshold breaches. */
  readonly inclusive: boolean;
}

/** One series' quantile forecast, as the forecaster produced it after denormalisation. */
export interface QuantileForecast {
  /**
   * Forecast values in the metric's unit, step-major: the value of quantile `q` at step `h`
   * (0-based, step `h` is `(h + 1) × stepMs` after the newest sample) is at
   * `h × quantiles.length + q`. Length is a multiple of `quantiles.length`.
   */
  readonly values: ArrayLike<number>;
  /**
   * Quantile levels, strictly ascending, each in (0, 1), e.g. `[0.1, 0.5, 0.9]`. The array is
   * used as a cache key: do not mutate it after the first call.
   */
  readonly quantiles: readonly number[];
  /** Milliseconds between forecast steps (the series' sampling step). */
  readonly stepMs: number;
}

/** How far to look and which probability the caller cares about. */
export interface BreachProbabilityOptions {
  /** Steps to consider, from the first; clamped to the steps the forecast has. */
  readonly horizonSteps: number;
  /**
   * The policy's firing probability, used only for the ETA fallback when no step reaches 0.5
   * (see {@link BreachForecast.etaMs}). Default 0.5.
   */
  readonly probability?: number;
}

/** What the forecast says about a breach within the horizon. */
export interface BreachForecast {
  /**
   * P(breach within the horizon), in [0, 1]: the maximum of the per-step probabilities.
   * A quantile forecast gives each step's distribution separately, not how steps move
   * together, so the probability of "any step breaches" is not determined; the maximum is a
   * lower bound that needs no assumption about the joint behaviour, and the tightest one
   * (it is exact when the paths are perfectly correlated, which a smooth trend nearly is).
   * `NaN` when no step could be evaluated (all values non-finite, or zero steps).
   */
  readonly probability: number;
  /**
   * Milliseconds from the newest sample to the expected breach: the first step whose
   * probability reaches 0.5 (there the forecast median crosses the threshold), or, when none
   * does, the first reaching `options.probability`; `undefined` when neither happens.
   */
  readonly etaMs: number | undefined;
  /** The same as a step count (1 = the first forecast step); `undefined` likewise. */
  readonly etaSteps: number | undefined;
  /**
   * Probability of being on the wrong side at each step (index `h` = step `h + 1`), `NaN` for
   * a step whose quantiles are not all finite numbers.
   */
  readonly stepProbabilities: Float64Array;
  /** Steps evaluated: `min(options.horizonSteps, steps in the forecast)`. */
  readonly horizonSteps: number;
  /** Steps skipped because a quantile value was `NaN` or infinite. */
  readonly invalidSteps: number;
}

/**
 * Number of forecast steps that fall within `horizonMs`: step `h` (1-based) is `h × stepMs`
 * ahead, so a step counts when `h × stepMs <= horizonMs`.
 */
export function horizonStepsFor(horizonMs: number, stepMs: number): number {
  if (!(stepMs > 0) || !Number.isFinite(stepMs)) {
    throw new RangeError(`stepMs must be a positive number of milliseconds, got ${stepMs}`);
  }
  return horizonMs > 0 ? Math.floor(horizonMs / stepMs) : 0;
}

/**
 * Computes the per-step breach probabilities, their maximum over the horizon and the ETA of
 * the breach for one series. Bad forecast values (`NaN`, ±Infinity) are data and make their
 * step `NaN`; bad arguments (quantiles not ascending in (0, 1), a length that does not fit,
 * non-positive `stepMs`, a non-finite threshold) are programming errors and throw
 * `RangeError`.
 */
export function breachProbability(
  forecast: QuantileForecast,
  condition: BreachCondition,
  options: BreachProbabilityOptions,
): BreachForecast {
  const { values, quantiles, stepMs } = forecast;
  const levels = levelsOf(quantiles);
  const n = quantiles.length;
  if (values.length % n !== 0) {
    throw new RangeError(
      `forecast has ${values.length} values, not a multiple of ${n} quantiles per step`,
    );
  }
  if (!(stepMs > 0) || !Number.isFinite(stepMs)) {
    throw new RangeError(`stepMs must be a positive number of milliseconds, got ${stepMs}`);
  }
  if (!Number.isFinite(condition.threshold)) {
    throw new RangeError(`threshold must be a finite number, got ${condition.threshold}`);
  }
  const { horizonSteps: wanted } = options;
  if (!Number.isInteger(wanted) || wanted < 0) {
    throw new RangeError(`horizonSteps must be a non-negative integer, got ${wanted}`);
  }
  const wantedProbability = options.probability ?? 0.5;
  const steps = Math.min(wanted, values.length / n);
  const stepProbabilities = new Float64Array(steps);
  const scratch = new Float64Array(n);
  let probability = NaN;
  let invalidSteps = 0;
  let medianStep = -1;
  let fallbackStep = -1;
  for (let h = 0; h < steps; h++) {
    const p = stepProbability(values, h * n, levels, condition, scratch);
    stepProbabilities[h] = p;
    if (Number.isNaN(p)) {
      invalidSteps++;
      continue;
    }
    if (!(p <= probability)) probability = p;
    if (medianStep < 0 && p >= 0.5) medianStep = h;
    if (fallbackStep < 0 && p >= wantedProbability) fallbackStep = h;
  }
  const etaIndex = medianStep >= 0 ? medianStep : fallbackStep;
  const etaSteps = etaIndex >= 0 ? etaIndex + 1 : undefined;
  return {
    probability,
    etaMs: etaSteps === undefined ? undefined : etaSteps * stepMs,
    etaSteps,
    stepProbabilities,
    horizonSteps: steps,
    invalidSteps,
  };
}

/**
 * The value at probability `level` of one step's forecast distribution — the inverse of the
 * CDF described in the module comment (linear between the given quantiles, normal tails
 * beyond, crossing quantiles sorted first). `offset` is where the step's quantile values start
 * in `values`. A predictive policy that acts at probability p sizes for the value at level
 * 1 − p: the load its own risk tolerance says to plan for. NaN when a value is not finite;
 * `level` is clamped into (0, 1).
 */
export function quantileAt(
  values: ArrayLike<number>,
  offset: number,
  quantiles: readonly number[],
  level: number,
): number {
  const { tau, z } = levelsOf(quantiles);
  const n = quantiles.length;
  const v = new Float64Array(n);
  if (!loadSortedStep(values, offset, v)) return NaN;
  const lo = v[0] as number;
  const hi = v[n - 1] as number;
  if (hi === lo) return lo;
  const l = Math.min(1 - 1e-9, Math.max(1e-9, level));
  if (l < (tau[0] as number) || l > (tau[n - 1] as number)) {
    const zLo = z[0] as number;
    const sigma = (hi - lo) / ((z[n - 1] as number) - zLo);
    return lo - sigma * zLo + sigma * normalQuantile(l);
  }
  let i = 0;
  while (i < n - 2 && (tau[i + 1] as number) < l) i++;
  const ta = tau[i] as number;
  const va = v[i] as number;
  return va + (((v[i + 1] as number) - va) * (l - ta)) / ((tau[i + 1] as number) - ta);
}

/** Quantile levels with their standard-normal scores, validated once per `quantiles` array. */
interface Levels {
  readonly tau: readonly number[];
  /** Φ⁻¹(tau[i]): where each level sits on a standard normal, for the tail fit. */
  readonly z: Float64Array;
  /** Index of the level nearest 0.5 (`medianQuantileIndex`). */
  readonly median: number;
  /** z of the highest level minus z of the lowest: the band's width in standard normal units. */
  readonly spreadZ: number;
}

const levelsCache = new WeakMap<readonly number[], Levels>();

export function levelsOf(quantiles: readonly number[]): Levels {
  const cached = levelsCache.get(quantiles);
  if (cached !== undefined) return cached;
  if (quantiles.length === 0) throw new RangeError('at least one quantile level is needed');
  const z = new Float64Array(quantiles.length);
  quantiles.forEach((tau, i) => {
    if (!(tau > 0 && tau < 1) || (i > 0 && !(tau > (quantiles[i - 1] as number)))) {
      throw new RangeError(
        `quantile levels must be strictly ascending within (0, 1), got [${quantiles.join(', ')}]`,
      );
    }
    z[i] = normalQuantile(tau);
  });
  const levels = {
    tau: [...quantiles],
    z,
    median: medianQuantileIndex(quantiles),
    spreadZ: (z[z.length - 1] as number) - (z[0] as number),
  };
  levelsCache.set(quantiles, levels);
  return levels;
}

/**
 * Copies one step's quantile values (from `offset`) into `sorted`, in order — crossing
 * quantiles sorted, ordered ones (the usual case) left as they are. False when one is not
 * finite.
 */
function loadSortedStep(values: ArrayLike<number>, offset: number, sorted: Float64Array): boolean {
  const n = sorted.length;
  let monotone = true;
  for (let i = 0; i < n; i++) {
    const v = values[offset + i] as number;
    if (!Number.isFinite(v)) return false;
    sorted[i] = v;
    if (i > 0 && v < (sorted[i - 1] as number)) monotone = false;
  }
  if (!monotone) sorted.sort();
  return true;
}

/**
 * Probability of the wrong side at one step whose `n` quantile values start at `offset`.
 * `sorted` is scratch space of length `n`.
 */
function stepProbability(
  values: ArrayLike<number>,
  offset: number,
  levels: Levels,
  condition: BreachCondition,
  sorted: Float64Array,
): number {
  if (!loadSortedStep(values, offset, sorted)) return NaN;
  const { threshold, direction, inclusive } = condition;
  // Above: wrong side is X > t (or X >= t); below: X < t (or X <= t). P(X < t) and
  // P(X <= t) differ only where the forecast has a point mass at t.
  const strictlyBelow = direction === 'above' ? inclusive : !inclusive;
  const below = cdf(sorted, levels, threshold, strictlyBelow);
  const p = direction === 'above' ? 1 - below : below;
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/**
 * The forecast CDF at `x`: P(X < x) when `strict`, else P(X <= x). `v` is ascending.
 * See the module comment for the shape (linear inside, normal tails, point masses).
 */
function cdf(v: Float64Array, levels: Levels, x: number, strict: boolean): number {
  const n = v.length;
  const lo = v[0] as number;
  const hi = v[n - 1] as number;
  if (hi === lo) {
    // One value, or all equal: the whole distribution sits on it.
    return strict ? (x > lo ? 1 : 0) : x >= lo ? 1 : 0;
  }
  const { tau, z } = levels;
  if (x < lo || x > hi) {
    const zLo = z[0] as number;
    const sigma = (hi - lo) / ((z[n - 1] as number) - zLo);
    const mu = lo - sigma * zLo;
    return normalCdf((x - mu) / sigma);
  }
  if (strict) {
    // First value >= x: at a run of equal values, P(X < x) is the lowest level of the run.
    let i = 0;
    while ((v[i] as number) < x) i++;
    if (v[i] === x) return tau[i] as number;
    return interpolate(v, tau, i - 1, i, x);
  }
  // Last value <= x: at a run of equal values, P(X <= x) is the highest level of the run.
  let j = n - 1;
  while ((v[j] as number) > x) j--;
  if (v[j] === x) return tau[j] as number;
  return interpolate(v, tau, j, j + 1, x);
}

function interpolate(
  v: Float64Array,
  tau: readonly number[],
  a: number,
  b: number,
  x: number,
): number {
  const va = v[a] as number;
  const ta = tau[a] as number;
  return ta + (((tau[b] as number) - ta) * (x - va)) / ((v[b] as number) - va);
}

/** Standard normal CDF Φ(x), from erfc; absolute error below 1e-7. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Numerical Recipes' `erfcc` polynomial in t = 1/(1 + z/2), highest degree first. */
const ERFC_POLY = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
] as const;

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z + horner(ERFC_POLY, t));
  return x >= 0 ? r : 2 - r;
}

// Coefficients of Acklam's rational approximations: central region (A/B), tails (C/D).
const ACKLAM_A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
] as const;
const ACKLAM_B = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  1,
] as const;
const ACKLAM_C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
] as const;
const ACKLAM_D = [
  0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1,
] as const;
const ACKLAM_LOW = 0.02425;

/** Evaluates a polynomial given highest-degree coefficient first (Horner). */
function horner(coefficients: readonly number[], x: number): number {
  let sum = 0;
  for (const c of coefficients) sum = sum * x + c;
  return sum;
}

/** Inverse standard normal CDF Φ⁻¹(p) for p in (0, 1) (Acklam; relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p < ACKLAM_LOW || p > 1 - ACKLAM_LOW) {
    const q = Math.sqrt(-2 * Math.log(Math.min(p, 1 - p)));
    const x = horner(ACKLAM_C, q) / horner(ACKLAM_D, q);
    return p < ACKLAM_LOW ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (horner(ACKLAM_A, r) * q) / horner(ACKLAM_B, r);
}
