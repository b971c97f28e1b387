import { describe, expect, it } from 'vitest';
import {
  NAB_NO_DETECTION_THRESHOLD,
  NAB_PROFILES,
  nabNormalise,
  nabScoreboard,
  optimiseNab,
  scoreNab,
  type NabFileScores,
} from '../../../../src/evaluate/nab/index.js';
import { HealcastError } from '../../../../src/errors.js';
import { nabFile } from './helpers.js';

const { standard } = NAB_PROFILES;

/** Two files with windows and one without, like NAB's mix of categories. */
function corpus(fire: (file: number) => Record<number, number>): NabFileScores[] {
  return [
    nabFile(
      'c/a.csv',
      200,
      [
        [60, 79],
        [140, 159],
      ],
      fire(0),
    ),
    nabFile('c/b.csv', 200, [[100, 119]], fire(1)),
    nabFile('c/none.csv', 200, [], fire(2)),
  ];
}

/** Seeded generator, so the "detector" below is the same on every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('optimiseNab', () => {
  it('the null detector (never fires) normalises to 0 in every profile', () => {
    const files = corpus(() => ({}));
    // Constant scores: firing everywhere is far worse than never firing.
    for (const file of files) file.scores.forEach((_, i, all) => ((all as number[])[i] = 0.5));
    const board = nabScoreboard(files);
    expect(board.standard).toMatchObject({
      threshold: NAB_NO_DETECTION_THRESHOLD,
      raw: -3,
      rawNull: -3,
      normalised: 0,
      tp: 0,
      fp: 0,
      fn: 3,
    });
    expect(board.reward_low_FN).toMatchObject({ raw: -6, normalised: 0 });
    expect(board.reward_low_FP.normalised).toBe(0);
  });

  it('a detector firing exactly on every window start and nowhere else scores 100', () => {
    const board = nabScoreboard(
      corpus((file) => (file === 0 ? { 60: 1, 140: 1 } : file === 1 ? { 100: 1 } : {})),
    );
    for (const result of Object.values(board)) {
      expect(result.raw).toBe(result.rawPerfect);
      expect(result.normalised).toBe(100);
      expect(result).toMatchObject({ tp: 3, fp: 0, fn: 0, windows: 3 });
    }
  });

  it('picks the threshold that maximises the summed raw score (checked against every threshold)', () => {
    const random = lcg(42);
    // Noise everywhere, a bit higher inside windows: the best threshold is not an extreme.
    const files = corpus((file) => {
      const fire: Record<number, number> = {};
      for (let i = 0; i < 200; i++) {
        const inWindow =
          file === 0
            ? (i >= 60 && i < 80) || (i >= 140 && i < 160)
            : file === 1 && i >= 100 && i < 120;
        fire[i] = Math.round(Math.min(1, random() * (inWindow ? 1.2 : 0.9)) * 100) / 100;
      }
      return fire;
    });
    for (const profile of Object.values(NAB_PROFILES)) {
      const candidates = [
        NAB_NO_DETECTION_THRESHOLD,
        ...new Set(files.flatMap((file) => file.scores)),
      ].sort((a, b) => b - a);
      const raws = candidates.map((threshold) => scoreNab(files, profile, threshold).raw);
      const bestRaw = Math.max(...raws);
      const optimum = optimiseNab(files, profile);
      expect(optimum.raw).toBeCloseTo(bestRaw, 9);
      // Ties go to the highest threshold, as in NAB's sweep.
      expect(optimum.threshold).toBe(candidates[raws.findIndex((raw) => raw > bestRaw - 1e-9)]);
      expect(optimum.threshold).toBeLessThan(NAB_NO_DETECTION_THRESHOLD);
      expect(optimum.normalised).toBeCloseTo(nabNormalise(optimum.raw, 3, profile), 9);
    }
  });

  it('uses one threshold for all files, even when each file alone would prefer another', () => {
    // a.csv alone is best at 0.9 (its window start) — at 0.6 ten far false positives cost
    // ≈ 1.05. b.csv's window is only seen at 0.55. Shared: 0.9 → 1 − 1 = 0;
    // 0.55 → (1 − 1.05) + 1 ≈ 0.95. The shared optimum is 0.55, with a.csv worse off.
    const fireA: Record<number, number> = { 50: 0.9 };
    for (let i = 70; i < 80; i++) fireA[i] = 0.6;
    const a = nabFile('c/a.csv', 100, [[50, 59]], fireA);
    const b = nabFile('c/b.csv', 100, [[50, 59]], { 50: 0.55 });
    expect(optimiseNab([a], standard).threshold).toBe(0.9);
    expect(optimiseNab([b], standard).threshold).toBe(0.55);
    const shared = optimiseNab([a, b], standard);
    expect(shared.threshold).toBe(0.55);
    expect(shared).toMatchObject({ tp: 2, fp: 10, fn: 0 });
    expect(shared.perFile[0]?.raw).toBeLessThan(optimiseNab([a], standard).raw);
    expect(shared.raw).toBeCloseTo(scoreNab([a, b], standard, 0.55).raw, 12);
  });

  it('the profiles can disagree: a low-FN profile accepts false positives to catch a window', () => {
    // Catching the window (row 55, reward ≈ 0.86) at 0.3 brings 11 far false positives
    // (≈ 1.2 under standard, 2.4 under low FP) and saves A_FN: 1, 1 or 2. Worth it under
    // standard (−0.34 > −1) and low FN (−0.34 > −2), not under low FP (−1.54 < −1).
    const fire: Record<number, number> = { 55: 0.3 };
    for (let i = 70; i < 80; i++) fire[i] = 0.3;
    fire[85] = 0.3;
    const board = nabScoreboard([nabFile('c/a.csv', 100, [[50, 59]], fire)]);
    expect(board.standard.threshold).toBe(0.3);
    expect(board.reward_low_FN.threshold).toBe(0.3);
    expect(board.reward_low_FP.threshold).toBe(NAB_NO_DETECTION_THRESHOLD);
  });

  it("an earlier detection at a lower threshold replaces, not adds to, its window's reward", () => {
    // Window 50..59: row 59 at 0.9 earns ≈ 0.248; at 0.8 row 58 earns ≈ 0.468 instead, but
    // three far false positives join (−0.33): 0.138 < 0.248, so 0.9 is best. Adding both
    // rewards would wrongly prefer 0.8.
    const file = nabFile('c/a.csv', 100, [[50, 59]], {
      59: 0.9,
      58: 0.8,
      20: 0.8,
      21: 0.8,
      22: 0.8,
    });
    const optimum = optimiseNab([file], standard);
    expect(optimum.threshold).toBe(0.9);
    expect(optimum.raw).toBeCloseTo(scoreNab([file], standard, 0.9).raw, 12);
    expect(optimum.raw).toBeGreaterThan(scoreNab([file], standard, 0.8).raw);
  });

  it('refuses to normalise a corpus without windows', () => {
    expect(() => optimiseNab([nabFile('c/none.csv', 100, [])], standard)).toThrow(HealcastError);
  });
});
