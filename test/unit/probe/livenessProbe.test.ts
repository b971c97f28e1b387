import { describe, expect, it } from 'vitest';
import { LivenessProbe, type ProbeTiming } from '../../../src/probe/livenessProbe.js';

const T0 = 1_700_000_000_000;
const LABELS = { probe: 'api-liveness', target: 'api' };

function probe(timing: Partial<ProbeTiming> = {}): LivenessProbe {
  return new LivenessProbe(
    { initialDelayMs: 0, periodMs: 10_000, failureThreshold: 3, ...timing },
    LABELS,
    T0,
  );
}

/** Feeds results at the times the probe asks for; returns each step with its probe time. */
function run(machine: LivenessProbe, results: readonly boolean[]) {
  return results.map((ok) => {
    const atMs = machine.nextProbeAtMs;
    return { atMs, ...machine.record(ok, atMs) };
  });
}

describe('LivenessProbe timing', () => {
  it('waits the initial delay before the first probe, then probes every period', () => {
    const machine = probe({ initialDelayMs: 15_000, periodMs: 10_000 });
    expect(machine.nextProbeAtMs).toBe(T0 + 15_000);
    const steps = run(machine, [true, true, true]);
    expect(steps.map((s) => s.atMs - T0)).toEqual([15_000, 25_000, 35_000]);
    expect(machine.nextProbeAtMs).toBe(T0 + 45_000);
  });

  it('probes at once without an initial delay (the kubelet default)', () => {
    expect(probe().nextProbeAtMs).toBe(T0);
  });

  it('keeps to its grid when a probe starts late, and skips ticks a slow probe overran', () => {
    const machine = probe({ periodMs: 1_000 });
    expect(machine.record(true, T0 + 30).nextProbeAtMs).toBe(T0 + 1_000);
    // Started 2.5 periods late: the missed ticks are not made up.
    expect(machine.record(true, T0 + 3_500).nextProbeAtMs).toBe(T0 + 4_000);
  });

  it('rejects timings that could never probe', () => {
    expect(() => probe({ periodMs: 0 })).toThrow(RangeError);
    expect(() => probe({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => probe({ initialDelayMs: -1 })).toThrow(RangeError);
  });
});

describe('LivenessProbe counting', () => {
  it('publishes the consecutive-failure count and the success flag at each probe time', () => {
    const machine = probe();
    const [first, second] = run(machine, [false, true]);
    expect(first?.samples).toEqual([
      {
        name: 'healcast_probe_consecutive_failures',
        labels: LABELS,
        timestampMs: T0,
        value: 1,
      },
      { name: 'healcast_probe_success', labels: LABELS, timestampMs: T0, value: 0 },
    ]);
    expect(second?.samples.map((s) => [s.name, s.value, s.timestampMs - T0])).toEqual([
      ['healcast_probe_consecutive_failures', 0, 10_000],
      ['healcast_probe_success', 1, 10_000],
    ]);
  });

  it('reaches the threshold on exactly the Nth consecutive failure, not before', () => {
    const steps = run(probe({ failureThreshold: 3 }), [false, false, false]);
    expect(steps.map((s) => s.consecutiveFailures)).toEqual([1, 2, 3]);
    expect(steps.map((s) => s.thresholdReached)).toEqual([false, false, true]);
    expect(steps[2]?.samples[0]?.value).toBe(3);
  });

  it('starts counting again after a success', () => {
    const steps = run(probe({ failureThreshold: 3 }), [false, false, true, false, false, false]);
    expect(steps.map((s) => s.consecutiveFailures)).toEqual([1, 2, 0, 1, 2, 3]);
    expect(steps.map((s) => s.thresholdReached)).toEqual([false, false, false, false, false, true]);
  });

  it('fires on the first failure with a threshold of 1', () => {
    const [step] = run(probe({ failureThreshold: 1 }), [false]);
    expect(step?.thresholdReached).toBe(true);
    expect(step?.consecutiveFailures).toBe(1);
  });

  it('starts over after the threshold: count 0, and the initial delay applies again', () => {
    const machine = probe({ initialDelayMs: 30_000, periodMs: 10_000, failureThreshold: 3 });
    const steps = run(machine, [false, false, false, false, false, false]);
    expect(steps.map((s) => s.atMs - T0)).toEqual([
      30_000, 40_000, 50_000,
      // restarted at 50 s: the next probe waits out the 30 s initial delay
      80_000, 90_000, 100_000,
    ]);
    expect(steps.map((s) => s.consecutiveFailures)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(steps.map((s) => s.thresholdReached)).toEqual([false, false, true, false, false, true]);
    expect(machine.consecutiveFailures).toBe(0);
  });

  it('without an initial delay, probes again one period after the threshold', () => {
    const machine = probe({ initialDelayMs: 0, periodMs: 250 });
    const steps = run(machine, [false, false, false, false]);
    expect(steps.map((s) => s.atMs - T0)).toEqual([0, 250, 500, 750]);
    expect(steps[3]?.consecutiveFailures).toBe(1);
  });

  it('rounds the delay after a start-over up to its grid', () => {
    const machine = probe({ initialDelayMs: 25_000, periodMs: 10_000, failureThreshold: 1 });
    const [step] = run(machine, [false]);
    // Grid 25 s, 35 s, 45 s, 55 s …; restarted at 25 s, the delay ends at 50 s.
    expect(step?.nextProbeAtMs).toBe(T0 + 55_000);
  });
});
