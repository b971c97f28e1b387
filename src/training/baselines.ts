import { windowScale, type FeatureSpec } from '../forecast/features.js';
import { trainEnds, type WindowMeta } from './dataset.js';
import type { Series } from './traces.js';

/**
 * The baselines a model has to beat, all fitted on the training part of each series only:
 *
 * - `naive` — the last value, for every step (what a purely reactive system assumes);
 * - `seasonal_naive` — the value one season ago (a day, else a week, else naive);
 * - `holt_winters` — additive Holt-Winters with the daily season when there is one, simple
 *   exponential smoothing otherwise, smoothing constants chosen by a small grid search.
 *
 * Point forecasts are plain; their quantiles come from the empirical quantiles of the
 * training-part residuals per horizon step, in units of the window's σ (the same scale the
 * model's outputs are in), so the baselines' intervals widen and narrow with the series like
 * the model's do and pinball loss and coverage compare like with like.
 */

/** Names of the baselines, as they appear in manifests and reports. */
export const BASELINE_NAMES = ['naive', 'seasonal_naive', 'holt_winters'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** A point forecaster over one series whose values up to each origin it has already seen. */
export interface PointForecaster {
  readonly name: BaselineName;
  /** What it ended up being, in words (e.g. the fitted constants). */
  readonly description: string;
  /** Writes the forecasts of steps `origin+1 .. origin+horizon` into `out` at `offset`. */
  forecast(origin: number, horizon: number, out: Float64Array, offset: number): void;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/**
 * Season length in steps: a day when a day is a whole number (≥ 2) of steps and the training
 * part holds two of them (one to start from, one to learn it), else a week on the same terms,
 * else 0 (no season).
 */
export function seasonLength(stepMs: number, trainLength: number): number {
  for (const periodMs of [DAY_MS, WEEK_MS]) {
    const m = periodMs / stepMs;
    if (Number.isInteger(m) && m >= 2 && trainLength >= 2 * m) return m;
  }
  return 0;
}

/** The last value, for every step. */
export function naiveForecaster(values: Float64Array): PointForecaster {
  return {
    name: 'naive',
    description: 'last value',
    forecast(origin, horizon, out, offset) {
      out.fill(values[origin] as number, offset, offset + horizon);
    },
  };
}

/**
 * The value one season before each target step; the last value where the series does not
 * reach back a season yet (and for every step when `season` is 0).
 */
export function seasonalNaiveForecaster(values: Float64Array, season: number): PointForecaster {
  return {
    name: 'seasonal_naive',
    description: season > 0 ? `value ${season} steps earlier` : 'no season: last value',
    forecast(origin, horizon, out, offset) {
      for (let h = 0; h < horizon; h++) {
        const target = origin + 1 + h;
        const back = season > 0 ? target - season * Math.ceil((h + 1) / season) : -1;
        out[offset + h] = (back >= 0 ? values[back] : values[origin]) as number;
      }
    },
  };
}

/** Smoothing constants of Holt-Winters (β = γ = 0 and no season = simple smoothing). */
export interface SmoothingParams {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
}

/** States of the filter after each step: level, trend and seasonal component. */
interface SmoothingStates {
  readonly level: Float64Array;
  readonly trend: Float64Array;
  readonly seasonal: Float64Array;
  /** First origin with a state (earlier origins fall back to the last value). */
  readonly firstOrigin: number;
}

/**
 * Runs additive Holt-Winters (or, with `season` 0, simple exponential smoothing) over
 * `values[0..length)`. Seasonal start: the first season's deviations from its mean; the trend
 * starts at 0 so that a β of 0 means "no trend" rather than "the first day's slope forever".
 */
function smooth(
  values: Float64Array,
  length: number,
  season: number,
  p: SmoothingParams,
): SmoothingStates {
  const level = new Float64Array(length);
  const trend = new Float64Array(length);
  const seasonal = new Float64Array(length);
  if (season === 0) {
    level[0] = values[0] as number;
    for (let t = 1; t < length; t++) {
      level[t] = p.alpha * (values[t] as number) + (1 - p.alpha) * (level[t - 1] as number);
    }
    return { level, trend, seasonal, firstOrigin: 0 };
  }
  let mean = 0;
  for (let i = 0; i < season; i++) mean += values[i] as number;
  mean /= season;
  for (let i = 0; i < season; i++) seasonal[i] = (values[i] as number) - mean;
  level[season - 1] = mean;
  for (let t = season; t < length; t++) {
    const y = values[t] as number;
    const prevLevel = level[t - 1] as number;
    const prevTrend = trend[t - 1] as number;
    const l = p.alpha * (y - (seasonal[t - season] as number)) + (1 - p.alpha) * (prevLevel + prevTrend);
    level[t] = l;
    trend[t] = p.beta * (l - prevLevel) + (1 - p.beta) * prevTrend;
    seasonal[t] = p.gamma * (y - l) + (1 - p.gamma) * (seasonal[t - season] as number);
  }
  return { level, trend, seasonal, firstOrigin: season - 1 };
}

function forecastFromStates(
  values: Float64Array,
  s: SmoothingStates,
  season: number,
  origin: number,
  horizon: number,
  out: Float64Array,
  offset: number,
): void {
  if (origin < s.firstOrigin) {
    out.fill(values[origin] as number, offset, offset + horizon);
    return;
  }
  const l = s.level[origin] as number;
  const b = s.trend[origin] as number;
  for (let h = 1; h <= horizon; h++) {
    const seasonalPart =
      season > 0 ? (s.seasonal[origin + h - season * Math.ceil(h / season)] as number) : 0;
    out[offset + h - 1] = l + h * b + seasonalPart;
  }
}

/** The grid searched by {@link holtWintersForecaster}. */
export const SMOOTHING_GRID = {
  alpha: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1],
  beta: [0, 0.01, 0.1],
  gamma: [0.05, 0.15, 0.3, 0.5],
} as const;

/** Most origins scored per grid point (evenly spaced): enough to rank constants, and fast. */
const FIT_ORIGINS = 2000;

/** Mean absolute error over steps 1..horizon at evenly spaced origins of the training part. */
function fitError(
  values: Float64Array,
  trainEnd: number,
  season: number,
  horizon: number,
  p: SmoothingParams,
  firstOrigin: number,
  stride: number,
  scratch: Float64Array,
): number {
  const states = smooth(values, trainEnd, season, p);
  let error = 0;
  for (let o = firstOrigin; o <= trainEnd - 1 - horizon; o += stride) {
    forecastFromStates(values, states, season, o, horizon, scratch, 0);
    for (let h = 0; h < horizon; h++) {
      error += Math.abs((values[o + 1 + h] as number) - (scratch[h] as number));
    }
  }
  return error;
}

/**
 * Holt-Winters fitted on `values[0..trainEnd)`. With a season, the search covers additive
 * Holt-Winters on that season and simple exponential smoothing alike — a daily pattern learnt
 * from a few days can cost more than it brings, and the training data should say so, not the
 * caller. The constants minimise the mean absolute error over steps 1..horizon (the horizon
 * the model is judged on, not just one step ahead) at up to 2000 training origins, all scored
 * from the same origins (after the first two seasons) so the candidates compare fairly. The
 * fitted filter then runs over the whole series, so a forecast at any origin uses exactly the
 * values up to it.
 */
export function holtWintersForecaster(
  values: Float64Array,
  trainEnd: number,
  season: number,
  horizon: number,
): PointForecaster {
  const firstOrigin = season > 0 ? 2 * season - 1 : 0;
  const lastOrigin = trainEnd - 1 - horizon;
  const stride = Math.max(1, Math.ceil((lastOrigin - firstOrigin + 1) / FIT_ORIGINS));
  const scratch = new Float64Array(horizon);
  const candidates: { season: number; p: SmoothingParams }[] = [];
  for (const alpha of SMOOTHING_GRID.alpha) {
    candidates.push({ season: 0, p: { alpha, beta: 0, gamma: 0 } });
    if (season === 0) continue;
    for (const beta of SMOOTHING_GRID.beta) {
      for (const gamma of SMOOTHING_GRID.gamma) {
        candidates.push({ season, p: { alpha, beta, gamma } });
      }
    }
  }
  let best = { season: 0, p: { alpha: 0.3, beta: 0, gamma: 0 } as SmoothingParams };
  let bestError = Number.POSITIVE_INFINITY;
  if (lastOrigin >= firstOrigin) {
    for (const c of candidates) {
      const error = fitError(values, trainEnd, c.season, horizon, c.p, firstOrigin, stride, scratch);
      if (error < bestError) {
        bestError = error;
        best = c;
      }
    }
  }
  const chosenSeason = best.season;
  const states = smooth(values, values.length, chosenSeason, best.p);
  const description =
    chosenSeason > 0
      ? `additive Holt-Winters, season ${chosenSeason} steps, α=${best.p.alpha} β=${best.p.beta} γ=${best.p.gamma}`
      : `simple exponential smoothing, α=${best.p.alpha}${season > 0 ? ` (beat the ${season}-step season on training)` : ''}`;
  return {
    name: 'holt_winters',
    description,
    forecast(origin, h, out, offset) {
      forecastFromStates(values, states, chosenSeason, origin, h, out, offset);
    },
  };
}

/** Quantile of sorted values, linear between order statistics (Hyndman–Fan type 7). */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return (
    (sorted[lo] as number) + (pos - lo) * ((sorted[hi] as number) - (sorted[lo] as number))
  );
}

/**
 * Empirical quantiles of a forecaster's residuals on the training part, per step:
 * `(actual − forecast) / σ` at every training window of the series (σ of that window, from
 * the shared feature module). Returns `horizonSteps × quantiles` values, step-major.
 */
export function residualQuantiles(
  forecaster: PointForecaster,
  values: Float64Array,
  trainEnd: number,
  spec: FeatureSpec,
): Float64Array {
  const H = spec.horizonSteps;
  const Q = spec.quantiles.length;
  const ends = trainEnds(trainEnd, spec, 1);
  const residuals = Array.from({ length: H }, () => new Float64Array(ends.length));
  const forecast = new Float64Array(H);
  ends.forEach((end, k) => {
    const first = end - spec.windowSteps + 1;
    const { scale } = windowScale(spec, (i) => values[first + i] as number);
    forecaster.forecast(end, H, forecast, 0);
    for (let h = 0; h < H; h++) {
      (residuals[h] as Float64Array)[k] =
        ((values[end + 1 + h] as number) - (forecast[h] as number)) / scale;
    }
  });
  const out = new Float64Array(H * Q);
  for (let h = 0; h < H; h++) {
    const sorted = (residuals[h] as Float64Array).sort();
    for (let q = 0; q < Q; q++) {
      out[h * Q + q] = ends.length > 0 ? sortedQuantile(sorted, spec.quantiles[q] as number) : 0;
    }
  }
  return out;
}

/** A baseline's forecasts for a set of windows, in the model's layout. */
export interface BaselineForecasts {
  readonly name: BaselineName;
  /** `count × horizonSteps` point forecasts (value units). */
  readonly point: Float64Array;
  /** `count × horizonSteps × quantiles` forecasts (value units), step-major. */
  readonly quantiles: Float64Array;
  /** Per series segment, what the baseline was (fitted constants, season). */
  readonly descriptions: string[];
}

/**
 * Fits every baseline on the training part of every segment and forecasts the given windows
 * (point and quantiles).
 */
export function baselineForecasts(
  series: readonly Series[],
  splits: readonly number[],
  windows: readonly WindowMeta[],
  spec: FeatureSpec,
): BaselineForecasts[] {
  const H = spec.horizonSteps;
  const Q = spec.quantiles.length;
  const fitted = series.map((s, i) => {
    const split = splits[i] as number;
    const season = seasonLength(s.stepMs, split);
    const forecasters: PointForecaster[] = [
      naiveForecaster(s.values),
      seasonalNaiveForecaster(s.values, season),
      holtWintersForecaster(s.values, split, season, H),
    ];
    return forecasters.map((f) => ({
      forecaster: f,
      residuals: residualQuantiles(f, s.values, split, spec),
    }));
  });
  return BASELINE_NAMES.map((name, b) => {
    const point = new Float64Array(windows.length * H);
    const quantiles = new Float64Array(windows.length * H * Q);
    windows.forEach((w, k) => {
      const entry = (fitted[w.series] as { forecaster: PointForecaster; residuals: Float64Array }[])[
        b
      ] as { forecaster: PointForecaster; residuals: Float64Array };
      entry.forecaster.forecast(w.end, H, point, k * H);
      for (let h = 0; h < H; h++) {
        const p = point[k * H + h] as number;
        for (let q = 0; q < Q; q++) {
          quantiles[(k * H + h) * Q + q] =
            p + w.scale.scale * (entry.residuals[h * Q + q] as number);
        }
      }
    });
    const descriptions = fitted.map(
      (f) => (f[b] as { forecaster: PointForecaster }).forecaster.description,
    );
    return { name, point, quantiles, descriptions };
  });
}
