/**
 * The predictive trigger: whether a policy should act *now* on a breach the forecast expects
 * (pure).
 *
 * Acting on a forecast has two ways to go wrong: too late (the target is not ready when the
 * breach comes) and too early (acting on a distant, uncertain prediction, then again on every
 * later forecast of the same breach). So a policy fires predictively when
 *
 * 1. the forecast gives the breach at least the policy's probability within its horizon;
 * 2. the breach is close enough that waiting one more step would leave less than the policy's
 *    lead time (how long the target needs to be ready, e.g. a pod start-up):
 *    `etaMs <= leadTimeMs + stepMs`. Before that the decision is `wait`: firing would be
 *    needlessly early, and the next forecast (one step later, with newer data) decides again;
 * 3. the series is not breaching already: an actual breach belongs to the reactive path,
 *    which knows how long it has lasted;
 * 4. the (policy, target) is not cooling down. The cooldown is the reactive path's, shared,
 *    so a predictive fire silences the reactive path and vice versa: one action per cooldown
 *    window, whichever path saw it first.
 *
 * {@link decidePredictive} is that rule for one evaluation. {@link PredictiveTracker} adds the
 * memory that a breach episode was already acted upon, so a forecast that keeps predicting
 * the same breach step after step does not fire again once the cooldown is over.
 */
import type { BreachForecast } from './breachProbability.js';

/** The predictive part of a policy, normalised. */
export interface PredictiveRule {
  /** Fire when P(breach within the horizon) is at least this, in (0, 1]. */
  readonly probability: number;
  /** How far ahead the policy looks, in milliseconds (> 0). */
  readonly horizonMs: number;
  /** Milliseconds the target needs to be ready after an action starts (>= 0). */
  readonly leadTimeMs: number;
}

/** Everything one evaluation needs, for one (policy, series). */
export interface PredictiveInput {
  /** Event time of the newest sample, the forecast's origin (ms since the epoch). */
  readonly nowMs: number;
  /** Milliseconds between forecast steps (and between evaluations of the series). */
  readonly stepMs: number;
  /** The series' breach forecast for this policy, from `breachProbability`. */
  readonly forecast: BreachForecast;
  /** True when the newest sample is already on the wrong side of the threshold. */
  readonly breachingNow: boolean;
  /** True when the policy's target is cooling down (the reactive path's cooldown). */
  readonly coolingDown: boolean;
  /**
   * This evaluation's probability threshold when the learn step raised it for the series
   * (the policy's `distrust`); default `rule.probability`.
   */
  readonly probability?: number | undefined;
}

/** Why a decision came out as it did; for logs and metrics (a low-cardinality label). */
export type PredictiveReason =
  /** `fire`: a likely breach is within lead time + one step. */
  | 'imminent'
  /** `wait`: a likely breach, but far enough away that acting now would be premature. */
  | 'too_early'
  /** `none`: the breach is less likely than the policy's probability. */
  | 'unlikely'
  /** `none`: the forecast could not be evaluated (non-finite values, or no step in range). */
  | 'no_forecast'
  /** `none`: the series is breaching now; the reactive path owns it. */
  | 'breaching'
  /** `none`: the breach is imminent, but the target is cooling down. */
  | 'cooling_down'
  /** `none`: this predicted breach episode was already acted upon (tracker only). */
  | 'already_fired';

/** The outcome of one predictive evaluation. */
export interface PredictiveDecision {
  /** `fire`: act now; `wait`: a breach is expected but not yet within reach; `none`: no. */
  readonly kind: 'fire' | 'wait' | 'none';
  readonly reason: PredictiveReason;
  /** P(breach within the horizon), as in the forecast (`NaN` when unknown). */
  readonly probability: number;
  /**
   * Milliseconds from `nowMs` to the expected breach (the forecast's ETA, or the horizon's end
   * when the forecast has none); `undefined` when no breach is expected.
   */
  readonly etaMs: number | undefined;
  /** Event time of the expected breach, `nowMs + etaMs`; `undefined` likewise. */
  readonly predictedBreachAtMs: number | undefined;
}

/**
 * Decides one evaluation with no memory of earlier ones. Use {@link PredictiveTracker} in the
 * pipeline; this is the rule it applies, exposed for tests and tools (backtests, `explain`).
 */
export function decidePredictive(rule: PredictiveRule, input: PredictiveInput): PredictiveDecision {
  const { forecast, nowMs, stepMs } = input;
  const { probability } = forecast;
  if (input.breachingNow) return none('breaching', probability);
  if (Number.isNaN(probability)) return none('no_forecast', probability);
  if (!(probability >= (input.probability ?? rule.probability))) {
    return none('unlikely', probability);
  }
  // The forecast's ETA is always defined when the probability is reached (some step reaches
  // it); the horizon's end is the conservative stand-in should a caller's forecast lack one.
  const evaluatedMs = Math.min(rule.horizonMs, forecast.horizonSteps * stepMs);
  const etaMs = forecast.etaMs ?? evaluatedMs;
  const decided = (kind: PredictiveDecision['kind'], reason: PredictiveReason) => ({
    kind,
    reason,
    probability,
    etaMs,
    predictedBreachAtMs: nowMs + etaMs,
  });
  // `<=`: fire at the last evaluation that still leaves the lead time plus one step of
  // margin; at the next one (a step later) the target could already be late.
  if (etaMs > rule.leadTimeMs + stepMs) return decided('wait', 'too_early');
  if (input.coolingDown) return decided('none', 'cooling_down');
  return decided('fire', 'imminent');
}

function none(reason: PredictiveReason, probability: number): PredictiveDecision {
  return { kind: 'none', reason, probability, etaMs: undefined, predictedBreachAtMs: undefined };
}

/**
 * Predictive state of one policy across series (by slot): which series have had their
 * current predicted breach episode acted upon.
 *
 * An episode starts when the forecast first makes a breach likely and ends (re-arming the
 * series) when the forecast probability falls below half the policy's probability — the
 * hysteresis keeps a probability hovering around the threshold from opening a new episode on
 * every wobble — or when the series actually breaches (the reactive path takes over; the next
 * prediction after it is a new episode). Within an episode the series fires at most once,
 * even after the cooldown ends: the forecast does not know that we acted, and would otherwise
 * keep asking for the same action. Memory is proportional to the series that fired and have
 * not re-armed yet.
 */
export class PredictiveTracker {
  /** Slots whose current episode has fired. */
  private readonly fired = new Set<number>();

  constructor(readonly rule: PredictiveRule) {}

  /**
   * Evaluates series `slot` and records a `fire` as acting on its episode: the caller is
   * expected to emit the fire (and start the shared cooldown) when this returns `fire`.
   */
  evaluate(slot: number, input: PredictiveInput): PredictiveDecision {
    const { probability } = input.forecast;
    if (input.breachingNow || probability < (input.probability ?? this.rule.probability) / 2) {
      // A NaN probability (unknown) compares false and keeps the episode as it was.
      this.fired.delete(slot);
    }
    const decision = decidePredictive(this.rule, input);
    // A likely breach (fire, wait or cooling down) of an episode already acted upon.
    if (decision.etaMs !== undefined && this.fired.has(slot)) {
      return { ...decision, kind: 'none', reason: 'already_fired' };
    }
    if (decision.kind === 'fire') this.fired.add(slot);
    return decision;
  }

  /** Forgets series `slot` (staleness marker, or the slot was evicted and reused). */
  forget(slot: number): void {
    this.fired.delete(slot);
  }

  /** Number of series whose predicted breach episode has fired and not yet re-armed. */
  get firedSeries(): number {
    return this.fired.size;
  }
}
