import { describe, expect, it } from 'vitest';
import { FireDistrust, wasNeeded } from '../../../src/learn/fireDistrust.js';

const SETTINGS = { halfLifeFires: 20, priorFires: 10, maxFactor: 2 };
/** Memory far longer than any test: plain sums, to check the arithmetic. */
const NO_FORGETTING = { ...SETTINGS, halfLifeFires: 1e9 };

describe('FireDistrust', () => {
  it('starts a new series at the configured probability (the prior is a calibrated forecast)', () => {
    const d = new FireDistrust(SETTINGS);
    expect(d.reliability('s', 0.35)).toBe(1);
    expect(d.threshold('s', 0.35)).toBe(0.35);
  });

  it('raises the threshold of a series whose fires keep proving unneeded, up to the bound', () => {
    const d = new FireDistrust(NO_FORGETTING);
    for (let i = 0; i < 3; i++) d.record('s', 0.5, false);
    // Prior: 10 fires claiming 0.35, needed 3.5 times; then 3 fires claiming 0.5, none needed.
    expect(d.reliability('s', 0.35)).toBeCloseTo(3.5 / 5);
    expect(d.threshold('s', 0.35)).toBeCloseTo(0.35 / (3.5 / 5));
    for (let i = 0; i < 100; i++) d.record('s', 0.5, false);
    expect(d.threshold('s', 0.35)).toBeCloseTo(0.7);
    // Never above 1, whatever the factor allows.
    expect(d.threshold('s', 0.8)).toBe(1);
  });

  it('never goes below the configured probability, however often fires prove needed', () => {
    const d = new FireDistrust(NO_FORGETTING);
    for (let i = 0; i < 50; i++) d.record('s', 0.4, true);
    expect(d.reliability('s', 0.35)).toBeGreaterThan(2);
    expect(d.threshold('s', 0.35)).toBe(0.35);
  });

  it('leaves a series whose fires are needed as often as claimed where it was', () => {
    const d = new FireDistrust(NO_FORGETTING);
    // Claims of 0.5, every other one needed: calibrated.
    for (let i = 0; i < 40; i++) d.record('s', 0.5, i % 2 === 0);
    expect(d.threshold('s', 0.35)).toBeCloseTo(0.35);
  });

  it('recovers: a distrusted series comes back down as its fires prove needed', () => {
    const d = new FireDistrust({ ...SETTINGS, halfLifeFires: 5 });
    for (let i = 0; i < 30; i++) d.record('s', 0.4, false);
    const distrusted = d.threshold('s', 0.35);
    expect(distrusted).toBeGreaterThan(0.6);
    d.record('s', 0.6, true);
    expect(d.threshold('s', 0.35)).toBeLessThan(distrusted);
    for (let i = 0; i < 20; i++) d.record('s', 0.6, true);
    expect(d.threshold('s', 0.35)).toBe(0.35);
  });

  it('is causal: a decision sees only the verdicts recorded before it', () => {
    // Same verdicts, different futures: the thresholds agree up to the point they diverge.
    const a = new FireDistrust(SETTINGS);
    const b = new FireDistrust(SETTINGS);
    const past = [false, true, false, false, true, false];
    const seen: number[][] = [[], []];
    past.forEach((needed) => {
      a.record('s', 0.45, needed);
      b.record('s', 0.45, needed);
      seen[0]?.push(a.threshold('s', 0.35));
      seen[1]?.push(b.threshold('s', 0.35));
    });
    expect(seen[0]).toEqual(seen[1]);
    const before = a.threshold('s', 0.35);
    for (let i = 0; i < 10; i++) b.record('s', 0.45, false);
    expect(a.threshold('s', 0.35)).toBe(before);
    expect(b.threshold('s', 0.35)).toBeGreaterThan(before);
  });

  it('keeps series apart and stays bounded', () => {
    const d = new FireDistrust(SETTINGS, 2);
    d.record('a', 0.5, false);
    expect(d.size).toBe(1);
    expect(d.threshold('b', 0.35)).toBe(0.35);
    expect(d.threshold('a', 0.35)).toBeGreaterThan(0.35);
    d.record('b', 0.5, true);
    d.record('c', 0.5, true);
    // 'a' was updated least recently: forgotten, back at the configured probability.
    expect(d.size).toBe(2);
    expect(d.threshold('a', 0.35)).toBe(0.35);
  });

  it('rejects settings that make no sense', () => {
    expect(() => new FireDistrust({ ...SETTINGS, halfLifeFires: 0 })).toThrow(RangeError);
    expect(() => new FireDistrust({ ...SETTINGS, priorFires: -1 })).toThrow(RangeError);
    expect(() => new FireDistrust({ ...SETTINGS, maxFactor: 0.5 })).toThrow(RangeError);
  });

  it('counts every verdict but a false alarm as a needed fire', () => {
    expect(
      (['in_time', 'too_late', 'prevented', 'false_alarm'] as const).map((v) => wasNeeded(v)),
    ).toEqual([true, true, true, false]);
  });
});
