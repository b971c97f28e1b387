import { describe, expect, it } from 'vitest';
import { scaleUpOutcomes } from '../../../../src/evaluate/backtest/report.js';
import type { DemandTrace, StrategyRun } from '../../../../src/evaluate/backtest/simulate.js';

const MIN = 60_000;
// 90 one-minute steps; a replica serves 10. Demand 15 except a burst of 25 at minutes 10–11.
const demand = Float64Array.from({ length: 90 }, (_, i) => (i === 10 || i === 11 ? 25 : 15));
const trace: DemandTrace = {
  name: 't',
  stepMs: MIN,
  timesMs: Float64Array.from(demand, (_, i) => i * MIN),
  demand,
};

function runWith(actions: StrategyRun['actions']): StrategyRun {
  return {
    id: 's',
    label: 's',
    specReplicas: new Int32Array(90),
    readyReplicas: new Int32Array(90),
    violationMs: new Float64Array(90),
    actions,
    replicaMs: 0,
  };
}

describe('scale-up outcomes', () => {
  it('splits scale-ups taken with capacity to spare into pre-emptive (with lead) and unneeded', () => {
    const outcomes = scaleUpOutcomes(
      runWith([
        // 2 -> 3 at the end of minute 4 (demand 15 <= 20): demand 25 > 20 at minute 10, 6 min later.
        { atMs: 5 * MIN, fromReplicas: 2, toReplicas: 3, trigger: 'predictive' },
        // 3 -> 4 at the end of minute 20 (15 <= 30): demand never exceeds 30 again: unneeded.
        { atMs: 21 * MIN, fromReplicas: 3, toReplicas: 4, trigger: 'predictive' },
        // 1 -> 2 at the end of minute 30: demand 15 > 10 already, reactive: neither.
        { atMs: 31 * MIN, fromReplicas: 1, toReplicas: 2, trigger: 'reactive' },
        // Scale-ins are not scale-ups.
        { atMs: 40 * MIN, fromReplicas: 4, toReplicas: 2, trigger: 'reactive' },
      ]),
      trace,
      10,
    );
    expect(outcomes).toEqual({ leadsMs: [5 * MIN], unneeded: 1 });
  });
});
