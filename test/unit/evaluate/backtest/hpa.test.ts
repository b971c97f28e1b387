import { describe, expect, it } from 'vitest';
import { HpaAlgorithm, hpaStrategy } from '../../../../src/evaluate/backtest/hpa.js';
import {
  DEFAULT_SIMULATION,
  SimulationSettingsSchema,
} from '../../../../src/evaluate/backtest/settings.js';
import { simulate, type DemandTrace } from '../../../../src/evaluate/backtest/simulate.js';

const S = 1000;
const settings = {
  targetPerReplica: 70,
  tolerance: 0.1,
  scaleDownStabilizationMs: 300 * S,
  syncPeriodMs: 15 * S,
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

describe('the HPA replayed at its sync period', () => {
  const cpu = SimulationSettingsSchema.parse(DEFAULT_SIMULATION.cpu);
  const step = 300 * S;
  // 10 replicas of 100 units: 700 is 70 % (in tolerance), 350 is 35 %.
  const trace = (demand: number[]): DemandTrace => ({
    name: 'hand-built',
    stepMs: step,
    timesMs: Float64Array.from(demand, (_, i) => i * step),
    demand: Float64Array.from(demand),
  });
  const hpa = (syncPeriodMs: number) =>
    hpaStrategy({ ...settings, maxReplicas: 200, syncPeriodMs });

  it('on 5-minute samples scales in 285 s after the low sample, when the older recommendations have left its window', () => {
    const [run] = simulate(trace([700, 700, 350, 350, 350]), cpu, [hpa(15 * S)]);
    // Step 2's report (350 → ceil(10 × 35/70) = 5) arrives at its end, 900 s. The syncs of
    // 615–885 s saw step 1 (10, in tolerance) and stay in the (t − 300, t] window until t = 1185 s.
    expect(run?.actions).toEqual([
      { atMs: 900 * S + 285 * S, fromReplicas: 10, toReplicas: 5, trigger: 'hpa' },
    ]);
    // Cost: 10 replicas until 1185 s, then 5 until the end (1500 s).
    expect(run?.replicaMs).toBe(10 * 1185 * S + 5 * 315 * S);
  });

  it('once per step (a sync period as long as the step), scales in on the low sample itself', () => {
    const [run] = simulate(trace([700, 700, 350, 350, 350]), cpu, [hpa(step)]);
    expect(run?.actions).toEqual([
      { atMs: 900 * S, fromReplicas: 10, toReplicas: 5, trigger: 'hpa' },
    ]);
  });

  it('scales up on the report that needs it, then again at the next sync when its per-sync limit held it back', () => {
    // 3,000 units on 10 replicas → ceil(10 × 300/70) = 43, limited to 20 per sync; at the next
    // sync the same report on 20 replicas (150 %) asks ceil(20 × 150/70) = 43 → limited to 40;
    // on 40 replicas it is 75 %, inside the tolerance band: no third action.
    const [run] = simulate(trace([700, 3000, 3000]), cpu, [hpa(15 * S)]);
    expect(run?.actions).toEqual([
      { atMs: 600 * S, fromReplicas: 10, toReplicas: 20, trigger: 'hpa' },
      { atMs: 615 * S, fromReplicas: 20, toReplicas: 40, trigger: 'hpa' },
    ]);
  });
});
