import { describe, expect, it } from 'vitest';
import { SimulatedTarget } from '../../../../src/evaluate/backtest/capacity.js';

const MIN = 60_000;

describe('SimulatedTarget (capacity model)', () => {
  it('counts new replicas only once their start-up delay has passed, and charges them from the start', () => {
    const target = new SimulatedTarget(2, 2 * MIN);
    // Minute 0: 2 ready × 10 = 20 ≥ 15, no violation; 2 replica-minutes.
    expect(target.runInterval(0, MIN, 15, 10)).toEqual({ violationMs: 0, replicaMs: 2 * MIN });
    target.scaleTo(4, MIN);
    expect(target.specReplicas).toBe(4);
    expect(target.readyReplicas).toBe(2);
    // Minutes 1 and 2: demand 35 > 20 while the new ones start (ready at minute 3): violated.
    expect(target.runInterval(MIN, 2 * MIN, 35, 10)).toEqual({
      violationMs: MIN,
      replicaMs: 4 * MIN,
    });
    expect(target.runInterval(2 * MIN, 3 * MIN, 35, 10).violationMs).toBe(MIN);
    // Minute 3: 4 ready × 10 = 40 ≥ 35.
    expect(target.runInterval(3 * MIN, 4 * MIN, 35, 10).violationMs).toBe(0);
    expect(target.readyReplicas).toBe(4);
  });

  it('splits a step at the moment a replica becomes ready', () => {
    const target = new SimulatedTarget(1, 90_000);
    target.scaleTo(2, 0);
    // Ready at 90 s: over [60 s, 120 s) demand 15 > 10 for 30 s, then 15 <= 20.
    expect(target.runInterval(0, MIN, 15, 10).violationMs).toBe(MIN);
    expect(target.runInterval(MIN, 2 * MIN, 15, 10).violationMs).toBe(30_000);
  });

  it('removes starting replicas first on scale-in, then ready ones; demand equal to capacity is served', () => {
    const target = new SimulatedTarget(3, 5 * MIN);
    target.scaleTo(5, 0);
    target.scaleTo(2, MIN);
    expect(target.specReplicas).toBe(2);
    expect(target.readyReplicas).toBe(2);
    expect(target.runInterval(MIN, 2 * MIN, 20, 10)).toEqual({
      violationMs: 0,
      replicaMs: 2 * MIN,
    });
    // Nothing is left starting: after the delay the count is still 2.
    target.runInterval(2 * MIN, 10 * MIN, 0, 10);
    expect(target.readyReplicas).toBe(2);
  });
});
