import { describe, expect, it } from 'vitest';
import { holtWintersStrategy } from '../../../../src/evaluate/backtest/holtWintersScaler.js';
import {
  DEFAULT_SIMULATION,
  SimulationSettingsSchema,
} from '../../../../src/evaluate/backtest/settings.js';
import { simulate, type DemandTrace } from '../../../../src/evaluate/backtest/simulate.js';

const S = 1000;
const STEP = 300 * S;

describe('the Holt-Winters scaler replayed at a sync period', () => {
  const cpu = SimulationSettingsSchema.parse(DEFAULT_SIMULATION.cpu);
  // 10 replicas' worth of demand for a while, then half of it.
  const demand = [...Array<number>(40).fill(700), ...Array<number>(20).fill(350)];
  const trace: DemandTrace = {
    name: 'hand-built',
    stepMs: STEP,
    timesMs: Float64Array.from(demand, (_, i) => i * STEP),
    demand: Float64Array.from(demand),
  };
  const run = (syncPeriodMs: number) => {
    const strategy = holtWintersStrategy(trace.demand, STEP, {
      demandPerReplicaAtTarget: 70,
      horizonSteps: 1,
      scaleDownStabilizationMs: 300 * S,
      syncPeriodMs,
      minReplicas: 1,
      maxReplicas: 200,
      fitShare: 0.5,
    });
    const [result] = simulate(trace, cpu, [strategy]);
    return result?.actions ?? [];
  };

  it('scales in to the same counts as once per step, each 285 s later (its window counts syncs)', () => {
    const perStep = run(STEP);
    const synced = run(15 * S);
    expect(perStep.length).toBeGreaterThan(0);
    expect(perStep.every((a) => a.toReplicas < a.fromReplicas)).toBe(true);
    // The forecast moves only with a new sample, so the sizes are the same; each scale-in
    // waits until the previous sample's sizing has left the 300-s window.
    expect(synced.map((a) => [a.fromReplicas, a.toReplicas])).toEqual(
      perStep.map((a) => [a.fromReplicas, a.toReplicas]),
    );
    expect(synced.map((a) => a.atMs)).toEqual(perStep.map((a) => a.atMs + 285 * S));
  });
});
