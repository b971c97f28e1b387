import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../../src/execute/outcome.js';
import { cooldownAnchorAfter, OutcomeLedger } from '../../../src/learn/outcomeLedger.js';
import { PredictionJudge, type PredictionWatch } from '../../../src/learn/predictionJudge.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

function watch(overrides: Partial<PredictionWatch> = {}): PredictionWatch {
  return {
    fireId: 'f1',
    policy: 'cpu',
    series: 'cpu{service="web"}',
    threshold: 80,
    direction: 'above',
    inclusive: false,
    valueAtDecision: 60,
    observedAtMs: T0,
    effectAtMs: T0 + 3 * MIN,
    windowEndMs: T0 + 10 * MIN,
    predictedBreachAtMs: T0 + 5 * MIN,
    claimedProbability: 0.4,
    ...overrides,
  };
}

function feed(judge: PredictionJudge, values: readonly number[], series = 'cpu{service="web"}') {
  return values.flatMap((v, i) => judge.observe(series, T0 + (i + 1) * MIN, v));
}

describe('PredictionJudge', () => {
  it('a breach after the lead time is in time, with its lead', () => {
    const judge = new PredictionJudge();
    judge.watch(watch());
    const judged = feed(judge, [65, 70, 75, 81]);
    expect(judged).toEqual([
      expect.objectContaining({ verdict: 'in_time', breachAtMs: T0 + 4 * MIN, leadMs: 4 * MIN }),
    ]);
    expect(judge.openWatches).toBe(0);
  });

  it('a breach before the target could be ready is too late', () => {
    const judge = new PredictionJudge();
    judge.watch(watch());
    expect(feed(judge, [85])).toEqual([
      expect.objectContaining({ verdict: 'too_late', leadMs: MIN }),
    ]);
  });

  it('no breach after a real rise is prevented; no breach and no rise is a false alarm', () => {
    const rising = new PredictionJudge();
    rising.watch(watch());
    // Gap at decision 20; came within 8 (closed more than half), then fell back.
    expect(feed(rising, [65, 72, 70, 60, 55, 50, 50, 50, 50, 50, 50])).toEqual([
      expect.objectContaining({ verdict: 'prevented', closestGap: 8 }),
    ]);
    const flat = new PredictionJudge();
    flat.watch(watch());
    expect(feed(flat, [61, 62, 60, 58, 60, 61, 59, 60, 60, 60, 60])).toEqual([
      expect.objectContaining({ verdict: 'false_alarm' }),
    ]);
  });

  it('mirrors for "below" thresholds and honours inclusiveness', () => {
    const judge = new PredictionJudge();
    judge.watch(watch({ direction: 'below', threshold: 10, inclusive: true, valueAtDecision: 30 }));
    expect(feed(judge, [20, 15, 12, 10])).toEqual([
      expect.objectContaining({ verdict: 'in_time' }),
    ]);
  });

  it('ignores samples at or before the decision and other series', () => {
    const judge = new PredictionJudge();
    judge.watch(watch());
    expect(judge.observe('cpu{service="web"}', T0, 99)).toEqual([]);
    expect(judge.observe('other', T0 + MIN, 99)).toEqual([]);
    expect(judge.openWatches).toBe(1);
  });

  it('expires watches of series that went quiet, and stays bounded', () => {
    const judge = new PredictionJudge(2);
    judge.watch(watch({ fireId: 'a' }));
    judge.watch(watch({ fireId: 'b', observedAtMs: T0 + 1 }));
    const early = judge.watch(watch({ fireId: 'c', observedAtMs: T0 + 2 }));
    expect(early.map((j) => j.watch.fireId)).toEqual(['a']);
    expect(judge.expire(T0 + 11 * MIN).map((j) => j.verdict)).toEqual([
      'false_alarm',
      'false_alarm',
    ]);
    expect(judge.openWatches).toBe(0);
  });
});

function outcome(overrides: Partial<Outcome> = {}): Outcome {
  return {
    schema: 'healcast.outcome/v1',
    actionId: 'a1',
    fireId: 'f1',
    policy: 'cpu',
    cooldownKey: 'cpu|service//web',
    target: { kind: 'service', name: 'web' },
    type: 'scale',
    trigger: 'predictive',
    status: 'succeeded',
    reason: 'executed',
    message: '',
    attempts: [],
    dryRun: false,
    observedAtMs: T0,
    decidedAtMs: T0 + 100,
    startedAtMs: T0 + 200,
    finishedAtMs: T0 + 5_100,
    executor: 'e1',
    ...overrides,
  };
}

describe('cooldownAnchorAfter', () => {
  it('moves the anchor by how long execution took, only for real changes', () => {
    expect(cooldownAnchorAfter(outcome())).toBe(T0 + 5_000);
    expect(
      cooldownAnchorAfter(outcome({ dryRun: true, status: 'skipped', reason: 'dry_run' })),
    ).toBeUndefined();
    expect(
      cooldownAnchorAfter(outcome({ status: 'failed', reason: 'retries_exhausted' })),
    ).toBeUndefined();
  });
});

describe('OutcomeLedger', () => {
  it('joins verdicts with outcomes by fire id, and gives up waiting after a while', () => {
    const ledger = new OutcomeLedger(1_000);
    const judge = new PredictionJudge();
    judge.watch(watch({ fireId: 'f1' }));
    judge.watch(watch({ fireId: 'f2', series: 's2' }));
    ledger.recordVerdicts(feed(judge, [85]), 0);
    ledger.recordVerdicts(judge.observe('s2', T0 + MIN, 90), 0);
    expect(ledger.drain(10)).toEqual([]);
    ledger.recordOutcome(outcome({ fireId: 'f1' }), 20);
    expect(ledger.drain(30)).toEqual([
      expect.objectContaining({ executed: 'yes', verdict: 'too_late' }),
    ]);
    expect(ledger.drain(2_000)).toEqual([expect.objectContaining({ executed: 'unknown' })]);
  });

  it('a fire counts as executed when any of its actions changed something', () => {
    const ledger = new OutcomeLedger(1_000);
    ledger.recordOutcome(outcome({ actionId: 'a1', status: 'skipped', reason: 'no_change' }), 0);
    ledger.recordOutcome(outcome({ actionId: 'a2' }), 0);
    ledger.recordOutcome(
      outcome({ actionId: 'a3', status: 'failed', reason: 'permanent_error' }),
      0,
    );
    const judge = new PredictionJudge();
    judge.watch(watch());
    ledger.recordVerdicts(feed(judge, [90]), 0);
    expect(ledger.drain(1)).toEqual([expect.objectContaining({ executed: 'yes' })]);
  });
});

describe('PredictionJudge.rescale', () => {
  it('judges a per-replica series in the unit of the decision after its target scaled', () => {
    // 2 → 3 replicas (factor 2/3): a per-replica 60 after the scale is 90 at the decision's 2.
    const scaled = new PredictionJudge();
    scaled.watch(watch());
    const series = 'cpu{service="web"}';
    expect(feed(scaled, [65, 70, 75])).toEqual([]);
    scaled.rescale(series, 2 / 3);
    expect(scaled.observe(series, T0 + 4 * MIN, 50)).toEqual([]);
    expect(scaled.observe(series, T0 + 5 * MIN, 60)).toEqual([
      expect.objectContaining({ verdict: 'in_time', breachAtMs: T0 + 5 * MIN }),
    ]);
  });

  it('calls a rise that stayed below the threshold in the decision unit a false alarm, not prevented', () => {
    // Would be `prevented` without the scale (closed more than half the gap); with the
    // counterfactual observed, no breach at the decision's capacity means none was coming.
    const judge = new PredictionJudge();
    judge.watch(watch());
    judge.rescale('cpu{service="web"}', 4 / 5);
    expect(feed(judge, [60, 58, 55, 50, 50, 50, 50, 50, 50, 50, 50])).toEqual([
      expect.objectContaining({ verdict: 'false_alarm', closestGap: 5 }),
    ]);
  });

  it('leaves other series and nonsense factors alone', () => {
    const judge = new PredictionJudge();
    judge.watch(watch());
    judge.rescale('other', 0.5);
    judge.rescale('cpu{service="web"}', 0);
    judge.rescale('cpu{service="web"}', Number.NaN);
    expect(feed(judge, [79])).toEqual([]);
    expect(feed(judge, [81])).toEqual([expect.objectContaining({ verdict: 'too_late' })]);
  });
});
