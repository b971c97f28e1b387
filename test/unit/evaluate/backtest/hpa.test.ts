import { describe, expect, it } from 'vitest';
import { HpaAlgorithm } from '../../../../src/evaluate/backtest/hpa.js';

const S = 1000;
const settings = {
  targetPerReplica: 70,
  tolerance: 0.1,
  scaleDownStabilizationMs: 300 * S,
  minReplicas: 1,
  maxReplicas: 20,
};

describe('HpaAlgorithm', () => {
  it('scales up at once to ceil(current × metric / target), and not inside the tolerance', () => {
    const hpa = new HpaAlgorithm(settings);
    // 76/70 = 1.086: within 0.1 of 1, no change.
    expect(hpa.sync(0, 4, 76)).toBe(4);
    // 4 × 105/70 = 6.
    expect(hpa.sync(15 * S, 4, 105)).toBe(6);
    // 6 × 84/70 = 7.2 → 8.
    expect(hpa.sync(30 * S, 6, 84)).toBe(8);
  });

  it('scales down to the highest recommendation of the last 300 s', () => {
    const hpa = new HpaAlgorithm(settings);
    // Recommendations: t=0 → 10×70/70=10 (in tolerance: 10); t=60 → ceil(10×35/70)=5; t=120 → ceil(10×49/70)=7.
    expect(hpa.sync(0, 10, 70)).toBe(10);
    expect(hpa.sync(60 * S, 10, 35)).toBe(10);
    expect(hpa.sync(120 * S, 10, 49)).toBe(10);
    // t=300: the t=0 recommendation (10) has left the window (window is (0, 300]): max(5, 7, 5) = 7.
    expect(hpa.sync(300 * S, 10, 35)).toBe(7);
    // t=420: window (120, 420] holds t=300 (5) and now: ceil(7 × 30/70) = 3 → 5.
    expect(hpa.sync(420 * S, 7, 30)).toBe(5);
  });

  it('limits a scale-up to double or +4 per sync, and clamps to [min, max]', () => {
    const hpa = new HpaAlgorithm(settings);
    // ceil(2 × 700/70) = 20, limited to max(4, 2+4) = 6.
    expect(hpa.sync(0, 2, 700)).toBe(6);
    // ceil(10 × 700/70) = 100 → limited to 20 (double) → max 20.
    expect(new HpaAlgorithm(settings).sync(0, 10, 700)).toBe(20);
    // Idle: ceil(3 × 0/70) = 0 → min 1 (after the window).
    const idle = new HpaAlgorithm(settings);
    expect(idle.sync(0, 3, 0)).toBe(1);
  });
});
