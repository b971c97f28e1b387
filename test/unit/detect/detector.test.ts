import { describe, expect, it } from 'vitest';
import { BaselineArrays, BaselineConfigSchema, observe } from '../../../src/baseline/ewma.js';
import { DetectorConfigSchema, type DetectorConfig } from '../../../src/detect/config.js';
import { SeriesDetector } from '../../../src/detect/detector.js';
import { bandFor } from '../../../src/detect/detectors.js';
import { SurpriseHistogram } from '../../../src/detect/surpriseHistogram.js';
import { normalQuantile, normalTail, tailScore } from '../../../src/detect/tail.js';

const T0 = 1_700_000_000_000;
const STEP_MS = 300_000;

/** Seeded noise (mulberry32): the same series every run. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** A noisy daily pattern around 50 with optional changes applied to some steps. */
function series(length: number, change: (i: number) => number = () => 0): number[] {
  const random = noise(7);
  return Array.from(
    { length },
    (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + 2 * random() + change(i),
  );
}

const baseline = BaselineConfigSchema.parse({});

/** Runs a detector over values with the worker's EWMA baseline z, as the processor does. */
function scoresOf(values: readonly number[], config: DetectorConfig): number[] {
  const detector = new SeriesDetector(config);
  const state = new BaselineArrays(1);
  return values.map((value, i) => {
    const tsMs = T0 + i * STEP_MS;
    const { zScore } = observe(state, 0, value, tsMs, baseline);
    return detector.score({ value, tsMs, baselineZ: zScore });
  });
}

const config = DetectorConfigSchema.parse({});

describe('SeriesDetector', () => {
  it('scores a spike far above every normal sample, and nothing during warm-up', () => {
    const spikeAt = 1500;
    const values = series(2000, (i) => (i === spikeAt ? 60 : 0));
    const scores = scoresOf(values, config);
    expect(scores.slice(0, config.warmupSamples).every((s) => s === 0)).toBe(true);
    const normal = scores.filter((_, i) => i !== spikeAt);
    expect(scores[spikeAt]).toBeGreaterThan(0.5);
    expect(Math.max(...normal.slice(700))).toBeLessThan((scores[spikeAt] as number) * 0.7);
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
  });

  it('flags a level shift when it starts', () => {
    const values = series(2000, (i) => (i >= 1500 ? 25 : 0));
    const scores = scoresOf(values, config);
    const before = Math.max(...scores.slice(700, 1500));
    const atShift = Math.max(...scores.slice(1500, 1510));
    expect(atShift).toBeGreaterThan(2 * before);
  });

  it('is causal: appending data never changes earlier scores', () => {
    const values = series(1200, (i) => (i === 900 ? 40 : 0));
    const full = scoresOf(values, config);
    const prefix = scoresOf(values.slice(0, 950), config);
    expect(full.slice(0, 950)).toEqual(prefix);
  });

  it('damps the repeats of one event: a second spike right after scores lower', () => {
    const values = series(2000, (i) => (i === 1500 || i === 1503 ? 60 : 0));
    const scores = scoresOf(values, config);
    const undamped = scoresOf(values, { ...config, suppressRatio: 1 });
    expect(scores[1503]).toBeLessThan((undamped[1503] as number) * 0.75);
    expect(scores[1500]).toBe(undamped[1500]);
  });

  it('learns a daily pattern: the season explains a daily jump the baseline does not', () => {
    // A jump to +30 for an hour every day: anomalous the first days, routine later.
    const values = series(288 * 10, (i) => (i % 288 >= 100 && i % 288 < 112 ? 30 : 0));
    const scores = scoresOf(values, config);
    // Day 0 is warm-up; from day 2 the jump is new, by day 9 it is routine.
    const jumpOf = (day: number): number =>
      Math.max(...scores.slice(100 + 288 * day, 113 + 288 * day));
    expect(jumpOf(9)).toBeLessThan(jumpOf(2) / 2);
  });
});

describe('tails', () => {
  it('normalTail, normalQuantile and tailScore agree with the normal distribution', () => {
    expect(normalTail(0)).toBeCloseTo(0.5, 6);
    expect(normalTail(1.959964)).toBeCloseTo(0.025, 5);
    // A&S 7.1.26 in erfc form: relative error well under 1% this far out.
    expect(normalTail(6) / 9.8659e-10).toBeCloseTo(1, 1);
    expect(normalQuantile(0.9)).toBeCloseTo(1.28155, 4);
    expect(normalQuantile(0.1)).toBeCloseTo(-1.28155, 4);
    expect(tailScore(1e-5)).toBeCloseTo(0.5, 4);
    expect(tailScore(1)).toBe(0);
    expect(tailScore(0)).toBe(1);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it('SurpriseHistogram: empirical where data are, below 1/N and falling beyond them', () => {
    const histogram = new SurpriseHistogram(0.999, 0.02);
    const random = noise(3);
    for (let i = 0; i < 5000; i++) histogram.add(1 + random());
    expect(histogram.tail(0)).toBeCloseTo(1, 2);
    expect(histogram.tail(1)).toBeGreaterThan(0.4);
    expect(histogram.tail(1)).toBeLessThan(0.6);
    const beyond = histogram.tail(3);
    expect(beyond).toBeLessThan(1 / histogram.mass);
    expect(histogram.tail(4)).toBeLessThan(beyond);
  });
});

describe('bandFor', () => {
  const stored = {
    slot: 0,
    originTsMs: T0,
    stepMs: STEP_MS,
    originValue: 10,
    values: Float64Array.from([8, 10, 12, 7, 10, 13]),
    modelVersion: 'v',
  };
  it('reads the first forecast step as the band of the next sample', () => {
    const band = bandFor(stored, [0.1, 0.5, 0.9], T0 + STEP_MS);
    expect(band).toMatchObject({ lower: 8, median: 10, upper: 12 });
    expect(band?.spreadZ).toBeCloseTo(2.5631, 3);
  });
  it('has no band for a sample after a gap, or without a forecast', () => {
    expect(bandFor(stored, [0.1, 0.5, 0.9], T0 + 3 * STEP_MS)).toBeUndefined();
    expect(bandFor(undefined, [0.1, 0.5, 0.9], T0 + STEP_MS)).toBeUndefined();
  });
});
