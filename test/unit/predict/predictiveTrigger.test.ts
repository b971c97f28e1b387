import { describe, expect, it } from 'vitest';
import {
  breachProbability,
  type BreachCondition,
  type BreachForecast,
} from '../../../src/predict/breachProbability.js';
import {
  decidePredictive,
  PredictiveTracker,
  type PredictiveDecision,
  type PredictiveRule,
} from '../../../src/predict/predictiveTrigger.js';

const STEP_MS = 60_000;
const HORIZON_STEPS = 10;
const condition: BreachCondition = { threshold: 100, direction: 'above', inclusive: false };
const rule: PredictiveRule = {
  probability: 0.8,
  horizonMs: HORIZON_STEPS * STEP_MS,
  leadTimeMs: 3 * STEP_MS,
};
/** The breach the forecasts below see coming, in event time. */
const BREACH_AT_MS = 1_700_000_000_000;

/**
 * The forecast made at `nowMs` of a series rising 10 units per step whose median reaches the
 * threshold at `breachAtMs` (p10/p90 at ±5): a model that is right about the trend.
 */
function forecastAt(nowMs: number, breachAtMs = BREACH_AT_MS): BreachForecast {
  const values: number[] = [];
  for (let h = 1; h <= HORIZON_STEPS; h++) {
    const median = condition.threshold + (10 * (nowMs + h * STEP_MS - breachAtMs)) / STEP_MS;
    values.push(median - 5, median, median + 5);
  }
  return breachProbability({ values, quantiles: [0.1, 0.5, 0.9], stepMs: STEP_MS }, condition, {
    horizonSteps: HORIZON_STEPS,
    probability: rule.probability,
  });
}

/** A forecast with a given horizon probability and ETA, for the re-arming rules. */
function forecastWith(probability: number, etaSteps: number | undefined): BreachForecast {
  return {
    probability,
    etaSteps,
    etaMs: etaSteps === undefined ? undefined : etaSteps * STEP_MS,
    stepProbabilities: new Float64Array(HORIZON_STEPS).fill(probability),
    horizonSteps: HORIZON_STEPS,
    invalidSteps: 0,
  };
}

/** Steps before the breach → evaluation time, on a manual clock ticking one step at a time. */
const stepsBefore = (steps: number) => BREACH_AT_MS - steps * STEP_MS;

function summary(decision: PredictiveDecision): string {
  return `${decision.kind}/${decision.reason}`;
}

describe('decidePredictive', () => {
  it('waits while the breach is further than lead time + one step, then fires', () => {
    const seen = [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((steps) => {
      const decision = decidePredictive(rule, {
        nowMs: stepsBefore(steps),
        stepMs: STEP_MS,
        forecast: forecastAt(stepsBefore(steps)),
        breachingNow: false,
        coolingDown: false,
      });
      return [steps, summary(decision)];
    });
    expect(seen).toEqual([
      // Beyond the horizon the crossing is invisible; at 10 steps only its last step touches
      // it, with p = 0.5 < 0.8.
      [12, 'none/unlikely'],
      [11, 'none/unlikely'],
      [10, 'none/unlikely'],
      [9, 'wait/too_early'],
      [8, 'wait/too_early'],
      [7, 'wait/too_early'],
      [6, 'wait/too_early'],
      [5, 'wait/too_early'],
      // eta 4 steps = lead time 3 steps + 1 step: the last moment that leaves the lead time.
      [4, 'fire/imminent'],
      [3, 'fire/imminent'],
      [2, 'fire/imminent'],
      [1, 'fire/imminent'],
    ]);
  });

  it('reports the probability, ETA and predicted breach time', () => {
    const nowMs = stepsBefore(4);
    const decision = decidePredictive(rule, {
      nowMs,
      stepMs: STEP_MS,
      forecast: forecastAt(nowMs),
      breachingNow: false,
      coolingDown: false,
    });
    expect(decision).toMatchObject({
      kind: 'fire',
      etaMs: 4 * STEP_MS,
      predictedBreachAtMs: BREACH_AT_MS,
    });
    expect(decision.probability).toBeGreaterThan(0.99);
  });

  it.each([
    { leadTimeSteps: 0, firstFire: 1 },
    { leadTimeSteps: 1, firstFire: 2 },
    { leadTimeSteps: 5, firstFire: 6 },
    { leadTimeSteps: 9, firstFire: 9 }, // limited by when the forecast first sees it
  ])(
    'lead time $leadTimeSteps steps → first fire $firstFire steps ahead',
    ({ leadTimeSteps, firstFire }) => {
      const withLead = { ...rule, leadTimeMs: leadTimeSteps * STEP_MS };
      const fired = [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].find(
        (steps) =>
          decidePredictive(withLead, {
            nowMs: stepsBefore(steps),
            stepMs: STEP_MS,
            forecast: forecastAt(stepsBefore(steps)),
            breachingNow: false,
            coolingDown: false,
          }).kind === 'fire',
      );
      expect(fired).toBe(firstFire);
    },
  );

  it.each([
    { breachingNow: true, coolingDown: false, want: 'none/breaching' },
    { breachingNow: true, coolingDown: true, want: 'none/breaching' },
    { breachingNow: false, coolingDown: true, want: 'none/cooling_down' },
    { breachingNow: false, coolingDown: false, want: 'fire/imminent' },
  ])(
    'breachingNow=$breachingNow coolingDown=$coolingDown → $want',
    ({ breachingNow, coolingDown, want }) => {
      const nowMs = stepsBefore(2);
      const decision = decidePredictive(rule, {
        nowMs,
        stepMs: STEP_MS,
        forecast: forecastAt(nowMs),
        breachingNow,
        coolingDown,
      });
      expect(summary(decision)).toBe(want);
    },
  );

  it('a cooldown does not turn a distant prediction into anything but a wait', () => {
    const nowMs = stepsBefore(7);
    const decision = decidePredictive(rule, {
      nowMs,
      stepMs: STEP_MS,
      forecast: forecastAt(nowMs),
      breachingNow: false,
      coolingDown: true,
    });
    expect(summary(decision)).toBe('wait/too_early');
  });

  it('an unknown (NaN) probability never fires', () => {
    const decision = decidePredictive(rule, {
      nowMs: 0,
      stepMs: STEP_MS,
      forecast: forecastWith(NaN, undefined),
      breachingNow: false,
      coolingDown: false,
    });
    expect(decision).toMatchObject({ kind: 'none', reason: 'no_forecast', etaMs: undefined });
  });

  it('uses the horizon end when a likely forecast has no ETA', () => {
    const fiveSteps = { ...rule, horizonMs: 5 * STEP_MS };
    const at = (leadTimeSteps: number) =>
      decidePredictive(
        { ...fiveSteps, leadTimeMs: leadTimeSteps * STEP_MS },
        {
          nowMs: 1_000,
          stepMs: STEP_MS,
          forecast: forecastWith(0.9, undefined),
          breachingNow: false,
          coolingDown: false,
        },
      );
    expect(at(3)).toMatchObject({
      kind: 'wait',
      etaMs: 5 * STEP_MS,
      predictedBreachAtMs: 1_000 + 5 * STEP_MS,
    });
    expect(at(4).kind).toBe('fire');
  });
});

describe('PredictiveTracker', () => {
  const SLOT = 7;

  /** Runs the tracker one step at a time over `steps` (steps before the breach). */
  function replay(
    tracker: PredictiveTracker,
    steps: readonly number[],
    coolingDownUntilMs = -Infinity,
  ): [number, string][] {
    return steps.map((before) => {
      const nowMs = stepsBefore(before);
      const decision = tracker.evaluate(SLOT, {
        nowMs,
        stepMs: STEP_MS,
        forecast: forecastAt(nowMs),
        breachingNow: before <= 0,
        coolingDown: nowMs < coolingDownUntilMs,
      });
      return [before, summary(decision)];
    });
  }

  it('fires once per predicted breach episode, and again after an actual breach', () => {
    const tracker = new PredictiveTracker(rule);
    expect(replay(tracker, [6, 5, 4, 3, 2, 1, 0])).toEqual([
      [6, 'wait/too_early'],
      [5, 'wait/too_early'],
      [4, 'fire/imminent'],
      [3, 'none/already_fired'],
      [2, 'none/already_fired'],
      [1, 'none/already_fired'],
      [0, 'none/breaching'],
    ]);
    expect(tracker.firedSeries).toBe(0);
    // The same breach predicted again after the actual one is a new episode.
    expect(replay(tracker, [4, 3])).toEqual([
      [4, 'fire/imminent'],
      [3, 'none/already_fired'],
    ]);
    expect(tracker.firedSeries).toBe(1);
  });

  it('holds its fire while cooling down and fires when the cooldown ends', () => {
    const tracker = new PredictiveTracker(rule);
    expect(replay(tracker, [5, 4, 3, 2, 1], stepsBefore(2))).toEqual([
      [5, 'wait/too_early'],
      [4, 'none/cooling_down'],
      [3, 'none/cooling_down'],
      [2, 'fire/imminent'],
      [1, 'none/already_fired'],
    ]);
  });

  /** One evaluation at time 0 with a given forecast (and, optionally, a raised probability). */
  const evaluator =
    (tracker: PredictiveTracker) =>
    (probability: number, etaSteps: number | undefined, override?: number) =>
      summary(
        tracker.evaluate(SLOT, {
          nowMs: 0,
          stepMs: STEP_MS,
          forecast: forecastWith(probability, etaSteps),
          breachingNow: false,
          coolingDown: false,
          probability: override,
        }),
      );

  it('re-arms when the probability drops below half the policy probability', () => {
    const evaluate = evaluator(new PredictiveTracker(rule));
    expect(evaluate(0.9, 2)).toBe('fire/imminent');
    // 0.5 is below the policy's 0.8 but above 0.4: the same episode, still fired.
    expect(evaluate(0.5, 3)).toBe('none/unlikely');
    expect(evaluate(0.9, 2)).toBe('none/already_fired');
    // NaN means "unknown", not "safe": the episode stays.
    expect(evaluate(NaN, undefined)).toBe('none/no_forecast');
    expect(evaluate(0.9, 2)).toBe('none/already_fired');
    // 0.3 < 0.4: the episode is over; the next likely breach is a new one.
    expect(evaluate(0.3, undefined)).toBe('none/unlikely');
    expect(evaluate(0.9, 2)).toBe('fire/imminent');
  });

  it('fires and re-arms at the per-evaluation probability when one is given (distrust)', () => {
    const evaluate = evaluator(new PredictiveTracker(rule));
    // Raised to 0.95, a 0.9 forecast no longer acts; at the policy's 0.8 it does.
    expect(evaluate(0.9, 2, 0.95)).toBe('none/unlikely');
    expect(evaluate(0.9, 2)).toBe('fire/imminent');
    // 0.45 is above half the policy's 0.8 (the episode stays, without an override) ...
    expect(evaluate(0.45, undefined)).toBe('none/unlikely');
    expect(evaluate(0.9, 2)).toBe('none/already_fired');
    // ... but below half of a raised 0.95: with it, the episode is over and re-arms.
    expect(evaluate(0.45, undefined, 0.95)).toBe('none/unlikely');
    expect(evaluate(0.9, 2)).toBe('fire/imminent');
  });

  it('keeps episodes per series and forgets a series on request', () => {
    const tracker = new PredictiveTracker(rule);
    const input = {
      nowMs: 0,
      stepMs: STEP_MS,
      forecast: forecastWith(0.9, 1),
      breachingNow: false,
      coolingDown: false,
    };
    expect(tracker.evaluate(1, input).kind).toBe('fire');
    expect(tracker.evaluate(2, input).kind).toBe('fire');
    expect(tracker.evaluate(1, input).reason).toBe('already_fired');
    tracker.forget(1);
    expect(tracker.firedSeries).toBe(1);
    expect(tracker.evaluate(1, input).kind).toBe('fire');
  });
});
