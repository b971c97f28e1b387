import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_SPEC, type FeatureSpec } from '../../../src/forecast/features.js';
import {
  baselineForecasts,
  holtWintersForecaster,
  naiveForecaster,
  residualQuantiles,
  seasonLength,
  seasonalNaiveForecaster,
  sortedQuantile,
  type PointForecaster,
} from '../../../src/training/baselines.js';
import { buildDataset, seededRandom } from '../../../src/training/dataset.js';
import type { Series } from '../../../src/training/traces.js';

function run(f: PointForecaster, origin: number, horizon: number): number[] {
  const out = new Float64Array(horizon);
  f.forecast(origin, horizon, out, 0);
  return Array.from(out);
}

describe('naive and seasonal naive', () => {
  const values = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  it('naive repeats the last value', () => {
    expect(run(naiveForecaster(values), 4, 3)).toEqual([5, 5, 5]);
  });

  it('seasonal naive takes the value one season before each target', () => {
    // Season 4, origin index 6: target indices 7, 8, 9 ← 3, 4, 5. Season 2, horizon 4:
    // targets beyond one season go back two seasons, so only values up to the origin are used.
    expect(run(seasonalNaiveForecaster(values, 4), 6, 3)).toEqual([4, 5, 6]);
    expect(run(seasonalNaiveForecaster(values, 2), 6, 4)).toEqual([6, 7, 6, 7]);
  });

  it('falls back to naive without a season or without a season of history', () => {
    expect(run(seasonalNaiveForecaster(values, 0), 6, 2)).toEqual([7, 7]);
    expect(run(seasonalNaiveForecaster(values, 8), 2, 2)).toEqual([3, 3]);
  });

  it('season: a day when the step divides it and two days are there, else a week, else none', () => {
    expect(seasonLength(60_000, 3000)).toBe(1440);
    expect(seasonLength(300_000, 600)).toBe(288);
    expect(seasonLength(300_000, 500)).toBe(0); // 500 steps < 2 days, and < 2 weeks
    expect(seasonLength(3_600_000 * 12, 30)).toBe(2); // half-day step: a day is 2 steps
    expect(seasonLength(7 * 60_000, 10_000)).toBe(1440); // 7 min does not divide a day; a week
    expect(seasonLength(7 * 60_000, 2000)).toBe(0); // …but two weeks are not there
  });
});

describe('Holt-Winters', () => {
  it('forecasts a purely periodic series exactly', () => {
    const pattern = [10, 20, 30, 20];
    const values = Float64Array.from({ length: 64 }, (_, i) => pattern[i % 4] as number);
    const f = holtWintersForecaster(values, 48, 4, 3);
    expect(run(f, 50, 3).map((v) => Number(v.toFixed(6)))).toEqual([20, 10, 20]);
  });

  it('uses simple exponential smoothing without a season (constant in, constant out)', () => {
    const values = new Float64Array(40).fill(7);
    const f = holtWintersForecaster(values, 30, 0, 4);
    expect(f.description).toMatch(/simple exponential smoothing/);
    expect(run(f, 35, 4)).toEqual([7, 7, 7, 7]);
  });

  it('smoothing a noisy level beats the last value on it', () => {
    const random = seededRandom(5);
    const values = Float64Array.from({ length: 400 }, () => 50 + 10 * (random() - 0.5));
    const hw = holtWintersForecaster(values, 300, 0, 4);
    const naive = naiveForecaster(values);
    let hwError = 0;
    let naiveError = 0;
    for (let o = 300; o < 395; o++) {
      const a = run(hw, o, 4);
      const b = run(naive, o, 4);
      for (let h = 0; h < 4; h++) {
        hwError += Math.abs((values[o + 1 + h] as number) - (a[h] as number));
        naiveError += Math.abs((values[o + 1 + h] as number) - (b[h] as number));
      }
    }
    expect(hwError).toBeLessThan(0.8 * naiveError);
    expect(hw.description).toMatch(/α=0\.05|α=0\.1/);
  });
});

describe('residual quantiles', () => {
  it('are empirical quantiles of (actual − forecast) / σ per step', () => {
    expect(sortedQuantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(sortedQuantile([1, 2, 3, 4, 5], 0.9)).toBeCloseTo(4.6);
    // A line rising by 1 per step: the naive error at step h is exactly h; the window of 4
    // values (k..k+3) has σ = sqrt(1.25), so residuals are h / sqrt(1.25) at every origin.
    const spec: FeatureSpec = { ...DEFAULT_FEATURE_SPEC, windowSteps: 4, horizonSteps: 2 };
    const values = Float64Array.from({ length: 30 }, (_, i) => i);
    const q = residualQuantiles(naiveForecaster(values), values, 20, spec);
    const s = Math.sqrt(1.25);
    expect(Array.from(q).map((v) => Number(v.toFixed(6)))).toEqual(
      [1 / s, 1 / s, 1 / s, 2 / s, 2 / s, 2 / s].map((v) => Number(v.toFixed(6))),
    );
  });

  it('turn into quantile forecasts around the point forecast for every window', () => {
    const spec: FeatureSpec = { ...DEFAULT_FEATURE_SPEC, windowSteps: 4, horizonSteps: 2 };
    const s: Series = {
      name: 'line',
      source: 'line.csv',
      segment: 0,
      stepMs: 60_000,
      startMs: 0,
      values: Float64Array.from({ length: 40 }, (_, i) => i),
      filledSteps: 0,
    };
    const data = buildDataset([s], { spec, validationFraction: 0.25, stride: 1, random: seededRandom(1) });
    const [naive] = baselineForecasts([s], data.splits, data.validation.meta, spec);
    const first = data.validation.meta[0];
    if (!naive || !first) throw new Error('nothing to check');
    expect(naive.name).toBe('naive');
    expect(Array.from(naive.point.subarray(0, 2))).toEqual([first.end, first.end]);
    // On a line every residual is the same, so all three quantiles sit on the actual value.
    expect(Array.from(naive.quantiles.subarray(0, 6)).map((v) => Number(v.toFixed(6)))).toEqual([
      first.end + 1,
      first.end + 1,
      first.end + 1,
      first.end + 2,
      first.end + 2,
      first.end + 2,
    ]);
  });
});
