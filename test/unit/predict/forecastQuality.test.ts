import { describe, expect, it } from 'vitest';
import {
  ForecastQualityTracker,
  type ForecastQualityOptions,
  type ScoredForecast,
} from '../../../src/predict/forecastQuality.js';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000;

/**
 * A scored point at minute `minute` whose model error is `modelError` and naive error
 * `naiveError` (actual 100; the median and naive forecast are off by those amounts).
 */
function point(
  minute: number,
  modelError: number,
  naiveError: number,
  overrides: Partial<ScoredForecast> = {},
): ScoredForecast {
  return {
    family: 'cpu_utilization',
    horizonSteps: 1,
    predictedMedian: 100 - modelError,
    predictedUpper: 110,
    actual: 100,
    naive: 100 + naiveError,
    atMs: T0 + minute * MINUTE,
    ...overrides,
  };
}

function tracker(options: Partial<ForecastQualityOptions> = {}): ForecastQualityTracker {
  return new ForecastQualityTracker({
    windowPoints: 20,
    minPoints: 5,
    fallbackAfterMs: 10 * MINUTE,
    ...options,
  });
}

describe('ForecastQualityTracker', () => {
  it('scores the model against the naive forecast (MASE-vs-naive) and the upper coverage', () => {
    const quality = tracker();
    quality.record(point(0, 1, 4));
    quality.record(point(1, 3, 4));
    quality.record(point(2, 2, 4, { predictedUpper: 99 })); // actual above the p90
    quality.record(point(3, 2, 4));
    expect(quality.stats('cpu_utilization')).toMatchObject({
      family: 'cpu_utilization',
      points: 4,
      modelMae: 2,
      naiveMae: 4,
      ratio: 0.5,
      upperCoverage: 0.75,
      fallback: false,
      fallbackSinceMs: undefined,
      skipped: 0,
    });
  });

  it('falls back after the ratio stays above 1 for fallbackAfterMs, not before', () => {
    const quality = tracker();
    const transitions: [number, string | undefined][] = [];
    for (let minute = 0; minute <= 20; minute++) {
      transitions.push([minute, quality.record(point(minute, 5, 1))]);
      if (minute < 14) expect(quality.isFallback('cpu_utilization')).toBe(false);
    }
    // Judged from the 5th point (minute 4); worse ever since; 10 minutes later it falls back.
    expect(transitions.filter(([, t]) => t !== undefined)).toEqual([[14, 'entered']]);
    expect(quality.isFallback('cpu_utilization')).toBe(true);
    expect(quality.stats('cpu_utilization')?.fallbackSinceMs).toBe(T0 + 14 * MINUTE);
  });

  it('a ratio dipping to 1 or below restarts the wait', () => {
    const quality = tracker({ windowPoints: 5 });
    for (let minute = 0; minute < 5; minute++) quality.record(point(minute, 2, 1));
    // Minute 9: one point so good that the 5-point window is better than naive for a moment.
    for (let minute = 5; minute < 9; minute++) quality.record(point(minute, 2, 1));
    quality.record(point(9, 0, 20));
    expect(quality.stats('cpu_utilization')?.ratio).toBeLessThanOrEqual(1);
    let entered: number | undefined;
    for (let minute = 10; minute <= 30 && entered === undefined; minute++) {
      // Bad points push the good one out of the window at minute 14; worse again from then.
      if (quality.record(point(minute, 2, 1)) === 'entered') entered = minute;
    }
    expect(entered).toBe(24);
  });

  it('recovers when the ratio stays below 1 for the same period', () => {
    const quality = tracker({ windowPoints: 5, fallbackAfterMs: 5 * MINUTE });
    let minute = 0;
    while (!quality.isFallback('cpu_utilization')) quality.record(point(minute++, 3, 1));
    const fellBackAt = minute - 1;
    expect(fellBackAt).toBe(9);
    const transitions: [number, string | undefined][] = [];
    for (; minute <= 30; minute++) {
      const transition = quality.record(point(minute, 1, 3));
      if (transition !== undefined) transitions.push([minute, transition]);
    }
    // Window of 5: the good points outweigh the bad from the 3rd (minute 12: 3·1 + 2·3 = 9 <
    // 3·3 + 2·1 = 11); 5 minutes of that → minute 17.
    expect(transitions).toEqual([[17, 'left']]);
    expect(quality.stats('cpu_utilization')).toMatchObject({
      fallback: false,
      fallbackSinceMs: undefined,
    });
  });

  it('judges nothing before minPoints', () => {
    const quality = tracker({ minPoints: 10, fallbackAfterMs: 0 });
    for (let minute = 0; minute < 9; minute++) {
      expect(quality.record(point(minute, 5, 1))).toBeUndefined();
    }
    expect(quality.record(point(9, 5, 1))).toBe('entered');
  });

  it('keeps only the last windowPoints points', () => {
    const quality = tracker({ windowPoints: 10 });
    for (let minute = 0; minute < 10; minute++) quality.record(point(minute, 9, 1));
    for (let minute = 10; minute < 20; minute++) quality.record(point(minute, 1, 2));
    expect(quality.stats('cpu_utilization')).toMatchObject({ points: 10, ratio: 0.5 });
  });

  it('drops points older than windowMs', () => {
    const quality = tracker({ windowMs: 5 * MINUTE });
    for (let minute = 0; minute < 10; minute++) quality.record(point(minute, 9, 1));
    quality.record(point(20, 1, 2));
    expect(quality.stats('cpu_utilization')).toMatchObject({ points: 1, ratio: 0.5 });
  });

  it('stays exact over many turns of the window', () => {
    const quality = tracker({ windowPoints: 7 });
    for (let minute = 0; minute < 10_000; minute++) {
      quality.record(point(minute, 0.1 * (minute % 13), 0.3 + 0.1 * (minute % 7)));
    }
    let model = 0;
    let naive = 0;
    for (let minute = 10_000 - 7; minute < 10_000; minute++) {
      model += 0.1 * (minute % 13);
      naive += 0.3 + 0.1 * (minute % 7);
    }
    const stats = quality.stats('cpu_utilization');
    expect(stats?.modelMae).toBeCloseTo(model / 7, 9);
    expect(stats?.naiveMae).toBeCloseTo(naive / 7, 9);
  });

  it('is exact again once a huge outlier has left the window (running sums are refreshed)', () => {
    const quality = tracker({ windowPoints: 4, minPoints: 4 });
    // 1e17 + 1 rounds to 1e17: running sums alone would stay off after the outlier leaves.
    quality.record(point(0, 1e17, 1e17));
    for (let minute = 1; minute <= 8; minute++) quality.record(point(minute, 1, 2));
    expect(quality.stats('cpu_utilization')).toMatchObject({
      points: 4,
      modelMae: 1,
      naiveMae: 2,
      ratio: 0.5,
    });
  });

  it('splits the comparison by horizon', () => {
    const quality = tracker();
    quality.record(point(0, 1, 2, { horizonSteps: 1 }));
    quality.record(point(0, 6, 3, { horizonSteps: 4 }));
    quality.record(point(1, 6, 3, { horizonSteps: 4 }));
    expect(quality.stats('cpu_utilization')?.byHorizon).toEqual([
      { horizonSteps: 1, points: 1, ratio: 0.5 },
      { horizonSteps: 4, points: 2, ratio: 2 },
    ]);
  });

  it('a flat series where both forecasts are exact is a tie (ratio 1), never a fallback', () => {
    const quality = tracker({ fallbackAfterMs: 0 });
    for (let minute = 0; minute < 10; minute++) {
      expect(quality.record(point(minute, 0, 0))).toBeUndefined();
    }
    expect(quality.stats('cpu_utilization')?.ratio).toBe(1);
    quality.record(point(10, 1, 0));
    expect(quality.stats('cpu_utilization')?.ratio).toBe(Infinity);
    expect(quality.isFallback('cpu_utilization')).toBe(true);
  });

  it('keeps families apart', () => {
    const quality = tracker({ fallbackAfterMs: 0 });
    for (let minute = 0; minute < 5; minute++) {
      quality.record(point(minute, 5, 1));
      quality.record(point(minute, 1, 5, { family: 'queue_depth' }));
    }
    expect(quality.isFallback('cpu_utilization')).toBe(true);
    expect(quality.isFallback('queue_depth')).toBe(false);
    expect(quality.isFallback('never_seen')).toBe(false);
    expect(quality.stats('never_seen')).toBeUndefined();
    expect(quality.allStats().map((s) => [s.family, s.fallback])).toEqual([
      ['cpu_utilization', true],
      ['queue_depth', false],
    ]);
  });

  it.each([
    { field: 'actual', value: NaN },
    { field: 'predictedMedian', value: Infinity },
    { field: 'naive', value: NaN },
    { field: 'horizonSteps', value: 0 },
    { field: 'horizonSteps', value: 1.5 },
  ])('skips a point with $field = $value', ({ field, value }) => {
    const quality = tracker();
    quality.record(point(0, 1, 2));
    expect(quality.record(point(1, 9, 1, { [field]: value }))).toBeUndefined();
    expect(quality.stats('cpu_utilization')).toMatchObject({ points: 1, skipped: 1, ratio: 0.5 });
  });

  it.each([
    { options: { windowPoints: 0 }, message: /windowPoints/ },
    { options: { windowPoints: 10, minPoints: 11 }, message: /minPoints/ },
    { options: { windowMs: 0 }, message: /windowMs/ },
    { options: { fallbackAfterMs: -1 }, message: /fallbackAfterMs/ },
    { options: { fallbackAfterMs: NaN }, message: /fallbackAfterMs/ },
  ])('rejects $options', ({ options, message }) => {
    expect(() => tracker(options)).toThrow(message);
  });

  it('defaults: 500 points, judged from 50', () => {
    const quality = new ForecastQualityTracker({ fallbackAfterMs: 0 });
    for (let minute = 0; minute < 49; minute++) quality.record(point(minute, 5, 1));
    expect(quality.isFallback('cpu_utilization')).toBe(false);
    quality.record(point(49, 5, 1));
    expect(quality.isFallback('cpu_utilization')).toBe(true);
    for (let minute = 50; minute < 600; minute++) quality.record(point(minute, 5, 1));
    expect(quality.stats('cpu_utilization')?.points).toBe(500);
  });
});
