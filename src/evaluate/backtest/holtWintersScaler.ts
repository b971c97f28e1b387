import { holtWintersForecaster, seasonLength } from '../../training/baselines.js';
import { StabilizationWindow } from './stabilizationWindow.js';
import type { ScaleDecision, ScalingStrategy, StepObservation } from './strategy.js';

/** Settings of the Holt-Winters predictive scaler. */
export interface HoltWintersScalerSettings {
  /** Demand one replica serves at the target utilisation. */
  readonly demandPerReplicaAtTarget: number;
  /** Steps ahead to size for: the start-up delay, at least one step. */
  readonly horizonSteps: number;
  /** Scale-down uses the highest sizing of this window (as the HPA's stabilization). */
  readonly scaleDownStabilizationMs: number;
  /** A controller polls: time between its syncs, as the HPA's (its window counts syncs). */
  readonly syncPeriodMs: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /**
   * The constants are fitted on this leading share of the trace (the training part of
   * `holtWintersForecaster`); the filter itself is causal everywhere.
   */
  readonly fitShare: number;
}

/**
 * A classic predictive autoscaler: Holt-Winters (the project's baseline forecaster, season a
 * day when the trace holds two) forecasts demand over the start-up delay, and the replicas are
 * sized for the highest forecast step at the target utilisation — never below what the demand
 * just seen needs, so a forecast below the present does not drop capacity. Scale-down is
 * stabilised like the HPA's, and like the HPA it syncs every `syncPeriodMs` on the latest step
 * (the same sizing until the next step: the forecast only moves with a new sample).
 */
export function holtWintersStrategy(
  demand: Float64Array,
  stepMs: number,
  settings: HoltWintersScalerSettings,
): ScalingStrategy {
  const trainEnd = Math.max(2, Math.floor(demand.length * settings.fitShare));
  const h = settings.horizonSteps;
  const forecaster = holtWintersForecaster(demand, trainEnd, seasonLength(stepMs, trainEnd), h);
  const out = new Float64Array(h);
  const window = new StabilizationWindow(settings.scaleDownStabilizationMs);
  let index = 0;
  let sizedStepStartMs = Number.NaN;
  let sized = 0;
  return {
    id: 'holt_winters',
    label: 'Holt-Winters predictive',
    syncPeriodMs: settings.syncPeriodMs,
    observe(o: StepObservation): ScaleDecision | undefined {
      if (o.stepStartMs !== sizedStepStartMs) {
        forecaster.forecast(index++, h, out, 0);
        let peak = o.demand;
        for (const v of out) peak = Math.max(peak, v);
        sized = Math.ceil((peak / settings.demandPerReplicaAtTarget) * (1 - 1e-9));
        sizedStepStartMs = o.stepStartMs;
      }
      const highest = window.record(o.nowMs, sized);
      // Down only as far as the window's highest sizing; up at once.
      const desired = sized < o.specReplicas ? Math.min(highest, o.specReplicas) : sized;
      const bounded = Math.min(settings.maxReplicas, Math.max(settings.minReplicas, desired));
      return bounded === o.specReplicas ? undefined : { toReplicas: bounded, trigger: 'forecast' };
    },
  };
}
