import { describe, expect, it } from 'vitest';
import {
  breachProbability,
  horizonStepsFor,
  quantileAt,
  type BreachCondition,
} from '../../../src/predict/breachProbability.js';

const STEP_MS = 60_000;
const QUANTILES = [0.1, 0.5, 0.9];
const above: BreachCondition = { threshold: 105, direction: 'above', inclusive: false };

/** Step-major [h][q] values from one [p10, p50, p90] triple per step. */
function path(steps: readonly (readonly number[])[]): Float64Array {
  return Float64Array.from(steps.flat());
}

/** A median rising by `slope` per step from `start` (step 1), with a ±`spread` band. */
function ramp(start: number, slope: number, spread: number, steps: number): Float64Array {
  return path(
    Array.from({ length: steps }, (_, h) => {
      const median = start + slope * h;
      return [median - spread, median, median + spread];
    }),
  );
}

function run(
  values: ArrayLike<number>,
  condition: BreachCondition,
  horizonSteps: number,
  options: { quantiles?: number[]; probability?: number } = {},
) {
  return breachProbability(
    { values, quantiles: options.quantiles ?? QUANTILES, stepMs: STEP_MS },
    condition,
    {
      horizonSteps,
      ...(options.probability === undefined ? {} : { probability: options.probability }),
    },
  );
}

/** Standard normal CDF by numerical integration, independent of the implementation's erfc. */
function phi(x: number): number {
  const n = 20_000;
  const lo = -12;
  const h = (x - lo) / n;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const t = lo + i * h;
    const w = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
    sum += w * Math.exp((-t * t) / 2);
  }
  return (sum * h) / 3 / Math.sqrt(2 * Math.PI);
}

describe('breachProbability', () => {
  it('a path whose median crosses the threshold at step 6 has an ETA of 6 steps', () => {
    // Median 60, 70, …: 100 at step 5, 110 at step 6; threshold 105.
    const result = run(ramp(60, 10, 5, 10), above, 10);
    expect(result.etaSteps).toBe(6);
    expect(result.etaMs).toBe(6 * STEP_MS);
    // Step 5: 105 is its p90 → 0.1; step 6: 105 is its p10 → 0.9.
    expect(result.stepProbabilities[4]).toBeCloseTo(0.1, 12);
    expect(result.stepProbabilities[5]).toBeCloseTo(0.9, 12);
    // Later steps are far above: the horizon's probability is their (maximal) probability.
    expect(result.probability).toBeGreaterThan(0.999);
    expect(result.probability).toBe(Math.max(...result.stepProbabilities));
    expect(result).toMatchObject({ horizonSteps: 10, invalidSteps: 0 });
  });

  it('per-step probabilities never decrease along a rising path', () => {
    const { stepProbabilities } = run(ramp(60, 10, 5, 10), above, 10);
    for (let h = 1; h < stepProbabilities.length; h++) {
      expect(stepProbabilities[h]).toBeGreaterThanOrEqual(stepProbabilities[h - 1] as number);
    }
  });

  it('a path far below the threshold gives ~0 and no ETA', () => {
    const result = run(ramp(10, 0, 5, 8), above, 8);
    expect(result.probability).toBeLessThan(1e-6);
    expect(result.probability).toBeGreaterThanOrEqual(0);
    expect(result.etaMs).toBeUndefined();
    expect(result.etaSteps).toBeUndefined();
  });

  it.each([
    // p50 = 100, p90 = 110: threshold 106 sits 60% of the way, so F = 0.5 + 0.6 × 0.4 = 0.74.
    { direction: 'below' as const, want: 0.74 },
    { direction: 'above' as const, want: 0.26 },
  ])(
    'threshold between p50 and p90 interpolates linearly ($direction → $want)',
    ({ direction, want }) => {
      const result = run(
        path([[90, 100, 110]]),
        { threshold: 106, direction, inclusive: false },
        1,
      );
      expect(result.probability).toBeCloseTo(want, 12);
    },
  );

  it('the CDF at a threshold between p50 and p90 lies between 0.5 and 0.9', () => {
    for (const threshold of [100.5, 103, 107, 109.5]) {
      const { probability } = run(
        path([[90, 100, 110]]),
        { threshold, direction: 'below', inclusive: false },
        1,
      );
      expect(probability).toBeGreaterThan(0.5);
      expect(probability).toBeLessThan(0.9);
    }
  });

  it('reproduces the quantile levels exactly at the quantile values', () => {
    const values = path([[90, 100, 110]]);
    for (const [threshold, level] of [
      [90, 0.1],
      [100, 0.5],
      [110, 0.9],
    ] as const) {
      const below = run(values, { threshold, direction: 'below', inclusive: true }, 1);
      expect(below.probability).toBeCloseTo(level, 12);
    }
  });

  it('extrapolates beyond the outer quantiles with the normal fitted to them', () => {
    // p10 = 90, p90 = 110 → μ = 100, σ = 20 / (2 × 1.2815516).
    const sigma = 20 / (2 * 1.2815515655446004);
    const values = path([[90, 100, 110]]);
    for (const threshold of [112, 120, 130]) {
      const up = run(values, { threshold, direction: 'above', inclusive: false }, 1);
      expect(up.probability).toBeCloseTo(1 - phi((threshold - 100) / sigma), 6);
      expect(up.probability).toBeGreaterThan(0);
      expect(up.probability).toBeLessThan(0.1);
      const down = run(
        values,
        { threshold: 200 - threshold, direction: 'below', inclusive: false },
        1,
      );
      expect(down.probability).toBeCloseTo(up.probability, 6);
    }
    // Continuous at the outer quantile: just beyond p90 is just below 0.1.
    const edge = run(values, { threshold: 110.001, direction: 'above', inclusive: false }, 1);
    expect(edge.probability).toBeCloseTo(0.1, 4);
    expect(edge.probability).toBeLessThan(0.1);
  });

  it('"below" mirrors "above"', () => {
    const up = run(ramp(60, 10, 5, 10), above, 10);
    const mirrored = ramp(60, 10, 5, 10).map((v) => -v);
    // Negating reverses each step's quantile order: p10 of -X is -p90 of X.
    const reordered = path(
      Array.from({ length: 10 }, (_, h) => [
        mirrored[h * 3 + 2] as number,
        mirrored[h * 3 + 1] as number,
        mirrored[h * 3] as number,
      ]),
    );
    const down = run(reordered, { threshold: -105, direction: 'below', inclusive: false }, 10);
    expect(down.etaSteps).toBe(up.etaSteps);
    down.stepProbabilities.forEach((p, h) => {
      expect(p).toBeCloseTo(up.stepProbabilities[h] as number, 9);
    });
  });

  describe('degenerate quantiles', () => {
    it.each([
      { threshold: 100, direction: 'above', inclusive: false, want: 0 },
      { threshold: 100, direction: 'above', inclusive: true, want: 1 },
      { threshold: 100, direction: 'below', inclusive: false, want: 0 },
      { threshold: 100, direction: 'below', inclusive: true, want: 1 },
      { threshold: 99.999, direction: 'above', inclusive: false, want: 1 },
      { threshold: 100.001, direction: 'above', inclusive: false, want: 0 },
      { threshold: 100.001, direction: 'below', inclusive: false, want: 1 },
    ] as const)(
      'all equal at 100, threshold $threshold $direction inclusive=$inclusive → $want',
      ({ threshold, direction, inclusive, want }) => {
        const result = run(path([[100, 100, 100]]), { threshold, direction, inclusive }, 1);
        expect(result.probability).toBe(want);
      },
    );

    it('a single quantile is a point forecast', () => {
      const values = Float64Array.from([100, 120]);
      const result = run(values, above, 2, { quantiles: [0.5] });
      expect([...result.stepProbabilities]).toEqual([0, 1]);
      expect(result.etaSteps).toBe(2);
    });

    it('a repeated inner value is a point mass: >= and > differ by its weight', () => {
      // p50 = p90 = 100: 40% of the mass sits exactly on 100.
      const values = path([[90, 100, 100]]);
      const strict = run(values, { threshold: 100, direction: 'above', inclusive: false }, 1);
      const inclusive = run(values, { threshold: 100, direction: 'above', inclusive: true }, 1);
      expect(strict.probability).toBeCloseTo(0.1, 12);
      expect(inclusive.probability).toBeCloseTo(0.5, 12);
      const below = run(values, { threshold: 100, direction: 'below', inclusive: false }, 1);
      expect(below.probability).toBeCloseTo(0.5, 12);
    });

    it('crossing quantiles are sorted before use', () => {
      const sorted = run(
        path([[90, 100, 110]]),
        { threshold: 106, direction: 'above', inclusive: false },
        1,
      );
      const crossed = run(
        path([[110, 90, 100]]),
        { threshold: 106, direction: 'above', inclusive: false },
        1,
      );
      expect(crossed.probability).toBeCloseTo(sorted.probability, 12);
    });
  });

  describe('non-finite values', () => {
    it('a step with NaN is skipped and reported', () => {
      const values = ramp(60, 10, 5, 10);
      values[5 * 3 + 1] = NaN; // step 6's median
      const result = run(values, above, 10);
      expect(Number.isNaN(result.stepProbabilities[5])).toBe(true);
      expect(result.invalidSteps).toBe(1);
      // The ETA moves to the next evaluable step.
      expect(result.etaSteps).toBe(7);
      expect(result.probability).toBeGreaterThan(0.999);
    });

    it('all steps invalid → probability NaN, no ETA', () => {
      const values = path([
        [NaN, 1, 2],
        [0, Infinity, 2],
      ]);
      const result = run(values, above, 2);
      expect(result.probability).toBeNaN();
      expect(result.etaMs).toBeUndefined();
      expect(result.invalidSteps).toBe(2);
    });

    it('zero steps → probability NaN', () => {
      const result = run(ramp(60, 10, 5, 4), above, 0);
      expect(result.probability).toBeNaN();
      expect(result.stepProbabilities).toHaveLength(0);
    });
  });

  it('looks only as far as the horizon, clamped to the forecast', () => {
    const values = ramp(60, 10, 5, 10);
    const short = run(values, above, 4);
    expect(short.horizonSteps).toBe(4);
    expect(short.etaMs).toBeUndefined();
    expect(short.probability).toBeLessThan(0.1);
    expect(run(values, above, 50).horizonSteps).toBe(10);
  });

  it('falls back to the policy probability for the ETA when no step reaches 0.5', () => {
    // The median stays at 100 < 105, but the upper band widens: P rises towards 0.5.
    const values = path(
      Array.from({ length: 6 }, (_, h) => [100 - 5 * (h + 1), 100, 100 + 5 * (h + 1)]),
    );
    const result = run(values, above, 6, { probability: 0.35 });
    expect(result.probability).toBeLessThan(0.5);
    // Step 2: 105 is halfway to p90 = 110, P = 0.3; step 3: a third of the way to p90 = 115,
    // P = 0.5 − 0.4/3 ≈ 0.367, the first to reach 0.35.
    expect(result.etaSteps).toBe(3);
    expect(run(values, above, 6).etaSteps).toBeUndefined();
  });

  it.each([
    { name: 'descending quantiles', quantiles: [0.9, 0.5, 0.1], values: [1, 2, 3] },
    { name: 'a level of 1', quantiles: [0.5, 1], values: [1, 2] },
    { name: 'no quantiles', quantiles: [], values: [] },
    { name: 'a ragged length', quantiles: [0.1, 0.9], values: [1, 2, 3] },
  ])('throws on $name', ({ quantiles, values }) => {
    expect(() => run(Float64Array.from(values), above, 1, { quantiles })).toThrow(RangeError);
  });

  it('throws on a non-positive step or a non-finite threshold', () => {
    const forecast = { values: [1, 2, 3], quantiles: QUANTILES };
    expect(() => breachProbability({ ...forecast, stepMs: 0 }, above, { horizonSteps: 1 })).toThrow(
      RangeError,
    );
    expect(() =>
      breachProbability(
        { ...forecast, stepMs: STEP_MS },
        { ...above, threshold: NaN },
        { horizonSteps: 1 },
      ),
    ).toThrow(RangeError);
  });
});

describe('horizonStepsFor', () => {
  it.each([
    { horizonMs: 600_000, stepMs: 60_000, want: 10 },
    { horizonMs: 90_000, stepMs: 60_000, want: 1 },
    { horizonMs: 30_000, stepMs: 60_000, want: 0 },
    { horizonMs: 0, stepMs: 60_000, want: 0 },
  ])('$horizonMs ms at $stepMs ms steps → $want', ({ horizonMs, stepMs, want }) => {
    expect(horizonStepsFor(horizonMs, stepMs)).toBe(want);
  });
});

describe('quantileAt', () => {
  const step = path([
    [0, 0, 0],
    [90, 100, 120],
  ]);

  it('reproduces the given quantiles and is linear between them', () => {
    expect(quantileAt(step, 3, QUANTILES, 0.5)).toBe(100);
    expect(quantileAt(step, 3, QUANTILES, 0.9)).toBe(120);
    expect(quantileAt(step, 3, QUANTILES, 0.7)).toBeCloseTo(110);
    expect(quantileAt(step, 3, QUANTILES, 0.3)).toBeCloseTo(95);
  });

  it('is the inverse of the breach probability, tails included', () => {
    for (const level of [0.05, 0.3, 0.65, 0.97]) {
      const x = quantileAt(step, 3, QUANTILES, level);
      const p = breachProbability(
        { values: step.slice(3), quantiles: QUANTILES, stepMs: STEP_MS },
        { threshold: x, direction: 'below', inclusive: true },
        { horizonSteps: 1 },
      ).probability;
      expect(p).toBeCloseTo(level, 5);
    }
  });

  it('handles crossing, equal and bad quantile values', () => {
    expect(quantileAt([120, 100, 90], 0, QUANTILES, 0.9)).toBe(120);
    expect(quantileAt(step, 0, QUANTILES, 0.99)).toBe(0);
    expect(quantileAt([1, NaN, 3], 0, QUANTILES, 0.5)).toBeNaN();
    // Level 1 (a policy acting at probability 0) stays finite.
    expect(Number.isFinite(quantileAt(step, 3, QUANTILES, 0))).toBe(true);
  });
});
