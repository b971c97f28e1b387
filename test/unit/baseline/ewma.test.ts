import { describe, expect, it } from 'vitest';
import { BaselineArrays, BaselineConfigSchema, erf, observe } from '../../../src/baseline/ewma.js';

// Half-life 60 s with samples 60 s apart gives alpha = 0.5, so the sequence below can be
// checked by hand (see the comments): d = x − μ; μ' = μ + α·d; σ²' = (1 − α)(σ² + α·d²).
const config = BaselineConfigSchema.parse({ halfLife: '60s', warmupSamples: 2, bandSigmas: 3 });

describe('EWMA baseline', () => {
  it('follows a hand-computed sequence', () => {
    const state = new BaselineArrays(4);
    const first = observe(state, 1, 10, 0, config);
    expect(first.warm).toBe(false);
    expect(first.score).toBe(0);
    expect(state.mean[1]).toBe(10);
    expect(state.variance[1]).toBe(0);

    // x=12: still warming up (1 sample seen). μ = 10 + 0.5·2 = 11; σ² = 0.5·(0 + 2·1) = 1.
    const second = observe(state, 1, 12, 60_000, config);
    expect(second.warm).toBe(false);
    expect(second.score).toBe(0);
    expect(second.mean).toBe(10);
    expect(state.mean[1]).toBeCloseTo(11, 12);
    expect(state.variance[1]).toBeCloseTo(1, 12);

    // x=8 against μ=11, σ=1: z = 3, band [8, 14]. Then μ = 9.5, σ² = 0.5·(1 + 4.5) = 2.75.
    const third = observe(state, 1, 8, 120_000, config);
    expect(third.warm).toBe(true);
    expect(third.zScore).toBeCloseTo(3, 12);
    expect(third.score).toBeCloseTo(0.9973002, 6);
    expect(third.lower).toBeCloseTo(8, 12);
    expect(third.upper).toBeCloseTo(14, 12);
    expect(state.mean[1]).toBeCloseTo(9.5, 12);
    expect(state.variance[1]).toBeCloseTo(2.75, 12);

    // 120 s later alpha = 1 − 2^−2 = 0.75. x=20: d=10.5; μ = 17.375; σ² = 0.25·(2.75 + 82.6875).
    const fourth = observe(state, 1, 20, 240_000, config);
    expect(fourth.zScore).toBeCloseTo(10.5 / Math.sqrt(2.75), 9);
    expect(fourth.score).toBeGreaterThan(0.999999);
    expect(state.mean[1]).toBeCloseTo(17.375, 12);
    expect(state.variance[1]).toBeCloseTo(21.359375, 12);
    expect(state.count[1]).toBe(4);
    // Other slots are untouched.
    expect(state.count[0]).toBe(0);
  });

  it('floors the deviation of a flat series so a tiny wobble is not a certain anomaly', () => {
    const state = new BaselineArrays(1);
    const flat = BaselineConfigSchema.parse({ halfLife: '1m', warmupSamples: 3 });
    for (let i = 0; i < 10; i++) observe(state, 0, 100, i * 60_000, flat);
    // σ floor = 1% of |μ| = 1, so 100.5 is half a sigma away.
    const reading = observe(state, 0, 100.5, 10 * 60_000, flat);
    expect(reading.zScore).toBeCloseTo(0.5, 9);
    expect(reading.score).toBeLessThan(0.5);
  });

  it('keeps scores in [0, 1] for huge values', () => {
    const state = new BaselineArrays(1);
    observe(state, 0, 1, 0, config);
    observe(state, 0, 2, 60_000, config);
    const reading = observe(state, 0, 1e100, 120_000, config);
    expect(reading.score).toBeLessThanOrEqual(1);
    expect(Number.isFinite(state.variance[0])).toBe(true);
  });

  it('computes erf accurately enough for scoring', () => {
    expect(erf(0)).toBeCloseTo(0, 6);
    expect(erf(1)).toBeCloseTo(0.8427008, 6);
    expect(erf(-1)).toBeCloseTo(-0.8427008, 6);
    expect(erf(3)).toBeCloseTo(0.9999779, 6);
  });
});
