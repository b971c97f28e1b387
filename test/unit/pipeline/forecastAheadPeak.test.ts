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
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 3 * MIN)).toBe(55);
    // Fire one minute later (the forecast was made a step before the fire): steps 2–4.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + MIN, 3 * MIN)).toBe(70);
    // The median, not the upper quantile: the load expected, not its tail.
    expect(forecastAheadPeak(forecast, QUANTILES, T0, MIN)).toBe(40);
  });

  it('is undefined when the forecast covers none of those times', () => {
    expect(forecastAheadPeak(undefined, QUANTILES, T0, 3 * MIN)).toBeUndefined();
    expect(forecastAheadPeak(forecast, QUANTILES, T0, 0)).toBeUndefined();
    // A forecast too old: its last step is before the fire.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + 4 * MIN, 3 * MIN)).toBeUndefined();
    // A lead time shorter than the gap to the next step: nothing is forecast that soon.
    expect(forecastAheadPeak(forecast, QUANTILES, T0 + 30_000, 20_000)).toBeUndefined();
    // A value that is not a number is not sized for.
    expect(forecastAheadPeak(stored([[0, NaN, 1]]), QUANTILES, T0, MIN)).toBeUndefined();
  });
});
