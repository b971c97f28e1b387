import { z } from 'zod';

/**
 * Forecast features: the one module that turns a series' recent values into model inputs and
 * model outputs back into values, used by training (`healcast train`) and serving (the worker)
 * alike, so the two can never drift apart.
 *
 * Normalisation: the window is expressed in units of its own baseline, z = (x − μ) / σ, with
 * μ and σ the mean and (floored) standard deviation of the window itself. Computing them from
 * the window, not from the worker's EWMA state, keeps a model valid whatever half-life the
 * detector is configured with, and makes training and serving identical by construction.
 * Targets and outputs are changes from the last observed value in the same units,
 * y = x_last + σ·z, so "no change" (the naive forecast) is 0 and the model only has to learn
 * departures from it.
 */
export const FeatureSpecSchema = z.strictObject({
  /** Past values the model sees, oldest first, one per step. */
  windowSteps: z.number().int().min(4).max(1024),
  /** Future steps the model forecasts. */
  horizonSteps: z.number().int().min(1).max(256),
  /** Quantile levels of the outputs, ascending, e.g. [0.1, 0.5, 0.9]. */
  quantiles: z
    .array(z.number().gt(0).lt(1))
    .min(1)
    .refine((q) => q.every((v, i) => i === 0 || v > (q[i - 1] as number)), 'must be ascending'),
  /**
   * Adds sin/cos of the time of day and of the day of week at the window's end (4 inputs),
   * used only when the series' step is at most `timeFeaturesMaxStepMs` (a daily cycle is
   * invisible in hourly-or-coarser data windows anyway).
   */
  timeFeatures: z.boolean(),
  /** Above this step (ms) the time features are written as zeros. */
  timeFeaturesMaxStepMs: z.number().int().positive(),
  /** Clamp of the normalised inputs: one absurd sample must not saturate the network. */
  clampZ: z.number().positive(),
});
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

/** The default spec of healcast's models. */
export const DEFAULT_FEATURE_SPEC: FeatureSpec = Object.freeze({
  windowSteps: 64,
  horizonSteps: 16,
  quantiles: [0.1, 0.5, 0.9],
  timeFeatures: true,
  timeFeaturesMaxStepMs: 15 * 60_000,
  clampZ: 20,
});

const TIME_FEATURES = 4;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** Number of model inputs per series. */
export function inputLength(spec: FeatureSpec): number {
  return spec.windowSteps + (spec.timeFeatures ? TIME_FEATURES : 0);
}

/** Number of model outputs per series: horizon × quantiles, step-major. */
export function outputLength(spec: FeatureSpec): number {
  return spec.horizonSteps * spec.quantiles.length;
}

/** The normalisation of one window: where it is centred and how it is scaled. */
export interface WindowScale {
  /** Window mean μ (inputs are (x − μ)/σ). */
  readonly mean: number;
  /** Window standard deviation σ, floored, > 0. */
  readonly scale: number;
  /** Last observed value (outputs are changes from it, in units of σ). */
  readonly last: number;
}

/**
 * Floor of σ relative to |μ| (and absolutely): a flat window has σ = 0, and without a floor
 * its first wobble would look like a 1000-sigma event to the model.
 */
export const MIN_SCALE_RATIO = 0.01;
export const MIN_SCALE_ABS = 1e-6;

/** Mean, floored standard deviation and last value of a window read through `valueAt`. */
export function windowScale(spec: FeatureSpec, valueAt: (i: number) => number): WindowScale {
  const n = spec.windowSteps;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += valueAt(i);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = valueAt(i) - mean;
    squares += d * d;
  }
  const std = Math.sqrt(squares / n);
  return {
    mean,
    scale: Math.max(std, MIN_SCALE_RATIO * Math.abs(mean), MIN_SCALE_ABS),
    last: valueAt(n - 1),
  };
}

/**
 * Writes the inputs of one window into `out` at `offset`: the `windowSteps` values (oldest
 * first, read through `valueAt(i)` so a ring buffer and an array slice feed the very same
 * code), normalised and clamped, then the time features of `endTsMs`.
 */
export function writeInputs(
  spec: FeatureSpec,
  valueAt: (i: number) => number,
  endTsMs: number,
  stepMs: number,
  norm: WindowScale,
  out: Float32Array,
  offset: number,
): void {
  const { windowSteps, clampZ } = spec;
  for (let i = 0; i < windowSteps; i++) {
    const z = (valueAt(i) - norm.mean) / norm.scale;
    out[offset + i] = z > clampZ ? clampZ : z < -clampZ ? -clampZ : z;
  }
  if (!spec.timeFeatures) return;
  const at = offset + windowSteps;
  if (stepMs > spec.timeFeaturesMaxStepMs) {
    out[at] = 0;
    out[at + 1] = 0;
    out[at + 2] = 0;
    out[at + 3] = 0;
    return;
  }
  // The next step's time: what the first forecast is for.
  const t = endTsMs + stepMs;
  const day = (2 * Math.PI * (((t % DAY_MS) + DAY_MS) % DAY_MS)) / DAY_MS;
  const week = (2 * Math.PI * (((t % WEEK_MS) + WEEK_MS) % WEEK_MS)) / WEEK_MS;
  out[at] = Math.sin(day);
  out[at + 1] = Math.cos(day);
  out[at + 2] = Math.sin(week);
  out[at + 3] = Math.cos(week);
}

/** Writes the training targets of one window: the next `horizonSteps` values as changes. */
export function writeTargets(
  spec: FeatureSpec,
  futureAt: (h: number) => number,
  norm: WindowScale,
  out: Float32Array,
  offset: number,
): void {
  for (let h = 0; h < spec.horizonSteps; h++) {
    out[offset + h] = (futureAt(h) - norm.last) / norm.scale;
  }
}

/**
 * Turns one series' model outputs (normalised, step-major: [h][q]) back into values in the
 * metric's unit, written into `out` at `outOffset` in the same layout.
 */
export function denormalize(
  spec: FeatureSpec,
  outputs: Float32Array,
  offset: number,
  norm: WindowScale,
  out: Float64Array,
  outOffset: number,
): void {
  const n = outputLength(spec);
  for (let i = 0; i < n; i++)
    out[outOffset + i] = norm.last + norm.scale * (outputs[offset + i] as number);
}

/** Index of the quantile level nearest the median (the lower one on a tie). */
export function medianQuantileIndex(quantiles: readonly number[]): number {
  let best = 0;
  quantiles.forEach((level, i) => {
    if (Math.abs(level - 0.5) < Math.abs((quantiles[best] as number) - 0.5)) best = i;
  });
  return best;
}
