import { describe, expect, it } from 'vitest';
import {
  NAB_MAX_TP_SIGMOID,
  NAB_PROFILES,
  nabProbationRows,
  nabScaledSigmoid,
} from '../../../../src/evaluate/nab/index.js';

describe('NAB rules', () => {
  it('scaled sigmoid: +0.987 at a window start, 0 at its end, −1 far after it', () => {
    expect(nabScaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(NAB_MAX_TP_SIGMOID).toBe(nabScaledSigmoid(-1));
    expect(nabScaledSigmoid(0)).toBe(0);
    expect(nabScaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(nabScaledSigmoid(3.01)).toBe(-1);
    expect(nabScaledSigmoid(-0.5)).toBeGreaterThan(nabScaledSigmoid(-0.1));
  });

  it.each([
    [100, 15],
    [1243, 186],
    [4032, 604],
    [4730, 709],
    [5000, 750],
    [22_000, 750],
  ])('probation of a %i-row file is %i rows (15%%, at most 750)', (rows, probation) => {
    expect(nabProbationRows(rows)).toBe(probation);
  });

  it('carries the three published profiles', () => {
    expect(NAB_PROFILES.standard).toEqual({
      tpWeight: 1,
      fpWeight: 0.11,
      tnWeight: 1,
      fnWeight: 1,
    });
    expect(NAB_PROFILES.reward_low_FP.fpWeight).toBe(0.22);
    expect(NAB_PROFILES.reward_low_FN.fnWeight).toBe(2);
  });
});
