import { describe, expect, it } from 'vitest';
import {
  NAB_MAX_TP_SIGMOID,
  NAB_PROFILES,
  nabScaledSigmoid,
  scoreNab,
} from '../../../../src/evaluate/nab/index.js';
import { HealcastError } from '../../../../src/errors.js';
import { nabFile } from './helpers.js';

const { standard, reward_low_FP: lowFp, reward_low_FN: lowFn } = NAB_PROFILES;

// 100 rows → probation is rows 0..14. One window on rows 50..59 (width 10).
const WINDOW: readonly (readonly [number, number])[] = [[50, 59]];
const rawOf = (fire: Record<number, number>, profile = standard, windows = WINDOW) =>
  scoreNab([nabFile('c/f.csv', 100, windows, fire)], profile, 0.5).raw;

describe('scoreNab: windows', () => {
  it('a detection on the first row of a window earns exactly A_TP, a late one less', () => {
    const early = scoreNab([nabFile('c/f.csv', 100, WINDOW, { 50: 1 })], standard, 0.5);
    const late = scoreNab([nabFile('c/f.csv', 100, WINDOW, { 59: 1 })], standard, 0.5);
    expect(early).toMatchObject({ raw: 1, tp: 1, fp: 0, fn: 0, windows: 1 });
    expect(late).toMatchObject({ tp: 1, fp: 0, fn: 0 });
    // Last row: y = −1/10.
    expect(late.raw).toBeCloseTo(nabScaledSigmoid(-0.1) / NAB_MAX_TP_SIGMOID, 12);
    expect(late.raw).toBeGreaterThan(0);
    expect(late.raw).toBeLessThan(early.raw);
    expect(rawOf({ 55: 1 })).toBeGreaterThan(late.raw);
    expect(rawOf({ 55: 1 })).toBeLessThan(early.raw);
  });

  it('only the earliest detection of a window counts', () => {
    expect(rawOf({ 52: 1, 53: 1, 58: 1 })).toBe(rawOf({ 52: 1 }));
  });

  it('a missed window costs A_FN: 1 under standard, 2 under reward_low_FN', () => {
    expect(scoreNab([nabFile('c/f.csv', 100, WINDOW)], standard, 0.5)).toMatchObject({
      raw: -1,
      tp: 0,
      fn: 1,
    });
    expect(rawOf({}, lowFn)).toBe(-2);
    expect(rawOf({}, lowFp)).toBe(-1);
  });

  it('a detection scoring exactly the threshold is a detection; one below is not', () => {
    expect(rawOf({ 50: 0.5 })).toBe(1);
    expect(rawOf({ 50: 0.4999 })).toBe(-1);
  });
});

describe('scoreNab: false positives', () => {
  it('with no window before it, a detection costs the full A_FP', () => {
    expect(rawOf({ 20: 1 }, standard, [])).toBeCloseTo(-0.11, 12);
    expect(rawOf({ 20: 1 }, lowFp, [])).toBeCloseTo(-0.22, 12);
    // Before the first window of a file is the same: no preceding window.
    expect(rawOf({ 20: 1, 50: 1 })).toBeCloseTo(1 - 0.11, 12);
  });

  it('costs less right after a window than far from it, never more than A_FP', () => {
    const justAfter = rawOf({ 50: 1, 60: 1 }) - 1;
    const later = rawOf({ 50: 1, 70: 1 }) - 1;
    const far = rawOf({ 50: 1, 95: 1 }) - 1;
    // Row 60 is 1 row past the window's last row: y = 1/(10 − 1).
    expect(justAfter).toBeCloseTo(0.11 * nabScaledSigmoid(1 / 9), 12);
    expect(justAfter).toBeLessThan(0);
    expect(later).toBeLessThan(justAfter);
    // 36 rows = 4 widths past the window: beyond 3, the full cost.
    expect(far).toBeCloseTo(-0.11, 12);
    for (const cost of [justAfter, later, far]) expect(cost).toBeGreaterThanOrEqual(-0.11);
  });

  it('counts every detection outside windows', () => {
    const score = scoreNab([nabFile('c/f.csv', 100, [], { 20: 1, 21: 1, 22: 1 })], standard, 0.5);
    expect(score.fp).toBe(3);
    expect(score.raw).toBeCloseTo(-0.33, 12);
  });
});

describe('scoreNab: probation', () => {
  it('ignores detections in the first 15% of rows', () => {
    expect(scoreNab([nabFile('c/f.csv', 100, [], { 0: 1, 14: 1 })], standard, 0.5)).toMatchObject({
      raw: 0,
      fp: 0,
    });
    expect(scoreNab([nabFile('c/f.csv', 100, [], { 15: 1 })], standard, 0.5).fp).toBe(1);
  });

  it('does not count a window that lies entirely in probation', () => {
    const score = scoreNab([nabFile('c/f.csv', 100, [[2, 8]], { 5: 1 })], standard, 0.5);
    expect(score).toMatchObject({ raw: 0, tp: 0, fn: 0, windows: 0 });
  });

  it('scores a window straddling probation by its position in the whole window', () => {
    // Window rows 10..19 (width 10); first scored row is 15, at y = −(19 − 15 + 1)/10.
    const raw = rawOf({ 12: 1, 15: 1 }, standard, [[10, 19]]);
    expect(raw).toBeCloseTo(nabScaledSigmoid(-0.5) / NAB_MAX_TP_SIGMOID, 12);
  });

  it('still measures false positives from a window that ended in probation', () => {
    // Window rows 5..14 (width 10) ends in probation; row 16 is 2 rows after it.
    const raw = rawOf({ 16: 1 }, standard, [[5, 14]]);
    expect(raw).toBeCloseTo(0.11 * nabScaledSigmoid(2 / 9), 12);
  });
});

describe('scoreNab: several files and bad input', () => {
  it('sums files at one threshold and reports each', () => {
    const score = scoreNab(
      [nabFile('c/a.csv', 100, WINDOW, { 50: 1 }), nabFile('c/b.csv', 100, WINDOW, { 30: 1 })],
      standard,
      0.5,
    );
    expect(score.perFile.map(({ name, tp, fp, fn }) => ({ name, tp, fp, fn }))).toEqual([
      { name: 'c/a.csv', tp: 1, fp: 0, fn: 0 },
      { name: 'c/b.csv', tp: 0, fp: 1, fn: 1 },
    ]);
    expect(score).toMatchObject({ tp: 1, fp: 1, fn: 1, windows: 2 });
    expect(score.raw).toBeCloseTo(1 - 0.11 - 1, 12);
  });

  it.each([
    ['more scores than rows', { scores: [0, 0, 0] }],
    ['a score above 1', { scores: [0, 1.5] }],
    ['a NaN score', { scores: [0, Number.NaN] }],
    ['timestamps going back', { timestampsMs: [10, 5] }],
    [
      'overlapping windows',
      {
        windows: [
          [0, 10],
          [5, 20],
        ] as const,
      },
    ],
  ])('rejects %s', (_what, override) => {
    const file = { name: 'c/bad.csv', timestampsMs: [0, 10], scores: [0, 0], windows: [] };
    expect(() => scoreNab([{ ...file, ...override }], standard, 0.5)).toThrow(HealcastError);
  });
});
