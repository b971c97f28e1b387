import { describe, expect, it } from 'vitest';
import type { StoredForecast } from '../../../src/forecast/engine.js';
import { forecastAheadPeak } from '../../../src/pipeline/forecastAheadPeak.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const QUANTILES = [0.1, 0.5, 0.9];

/** A forecast from T0, one minute a step, (p10, p50, p90) per step. */
function stored(steps: readonly [number, number, number][], originTsMs = T0): StoredForecast {
  return {
    slot: 0,
    originTsMs,
    stepMs: MIN,
    originValue: 0,
    values: Float64Array.from(steps.flat()),
    modelVersion: 'm',
  };
}

describe('forecastAheadPeak', () => {
  const forecast = stored([
    [10, 40, 90],
    [10, 55, 99],
    [10, 50, 95],
    [10, 70, 99],
  ]);

  it('is the highest median of the steps after the fire, up to a lead time later', () => {
    // Fire at the forecast's origin, lead time 3 minutes: steps 1–3, medians 40, 55, 50.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 3 * MIN, 0.5)).toBe(55);
    // Fire one minute later (the forecast was made a step before the fire): steps 2–4.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + MIN, 3 * MIN, 0.5)).toBe(70);
    // Level 0.5 is the median: the load expected, not its tail.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, MIN, 0.5)).toBe(40);
  });

  it('at a higher level keeps part of the upper tail, between the quantiles the model gives', () => {
    // Level 0.7 on step 1 (p50 40, p90 90): halfway from p50 to p90, 65.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, MIN, 0.7)).toBeCloseTo(65, 9);
    // Steps 1–3 at 0.7: 65, 77, 72.5 → 77.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 3 * MIN, 0.7)).toBeCloseTo(77, 9);
    // At 0.9, the p90 itself.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 3 * MIN, 0.9)).toBeCloseTo(99, 9);
  });

  it('is undefined when the forecast covers none of those times', () => {
    expect(forecastAheadPeak(undefined, QUANTILES, T0, 3 * MIN, 0.5)).toBeUndefined();
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 0, 0.5)).toBeUndefined();
    // A forecast too old: its last step is before the fire.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + 4 * MIN, 3 * MIN, 0.5)).toBeUndefined();
    // A lead time shorter than the gap to the next step: nothing is forecast that soon.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + 30_000, 20_000, 0.5)).toBeUndefined();
    // A value that is not a number is not sized for.
    expect(forecastAheadPeak(stored([[0, NaN, 1]]), QUANTILES, T0, MIN, 0.5)).toBeUndefined();
  });
});
