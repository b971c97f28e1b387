import { StabilizationWindow } from './stabilizationWindow.js';
import type { ScaleDecision, ScalingStrategy, StepObservation } from './strategy.js';

/** Settings of the HPA algorithm (Kubernetes' defaults where it has them). */
export interface HpaSettings {
  /** Target value of the per-replica metric (e.g. 70 % utilisation). */
  readonly targetPerReplica: number;
  /** No change while |metric / target − 1| <= tolerance (Kubernetes: 0.1). */
  readonly tolerance: number;
  /** Scale-down uses the highest recommendation of this window (Kubernetes: 300 s). */
  readonly scaleDownStabilizationMs: number;
  /** Time between syncs (Kubernetes: 15 s); the scale-up limit applies per sync. */
  readonly syncPeriodMs: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/**
 * The Kubernetes HorizontalPodAutoscaler's replica calculation (pkg/controller/podautoscaler,
 * re-implemented from its documented behaviour): desired = ceil(current × metric / target)
 * outside the tolerance band; the recommendation is stabilised — scale-up at once, scale-down to
 * the highest recommendation of the last 300 s — then limited by the default scale-up policy
 * (at most double, or +4, per sync) and clamped to [min, max]. Pure: time is passed in.
 */
export class HpaAlgorithm {
  private readonly window: StabilizationWindow;

  constructor(private readonly settings: HpaSettings) {
    this.window = new StabilizationWindow(settings.scaleDownStabilizationMs);
  }

  /** One sync at `nowMs`: the replica count the HPA sets (maybe `currentReplicas`). */
  sync(nowMs: number, currentReplicas: number, metricPerReplica: number): number {
    const { targetPerReplica, tolerance } = this.settings;
    const ratio = metricPerReplica / targetPerReplica;
    const raw =
      Math.abs(ratio - 1) <= tolerance
        ? currentReplicas
        : Math.ceil(ratio * currentReplicas * (1 - 1e-9));
    // Kubernetes keeps the unstabilised recommendations and looks back over them.
    const downRecommendation = this.window.record(nowMs, raw);
    // Scale-up stabilization window is 0: the up recommendation is the current one.
    let desired = currentReplicas;
    if (desired < raw) desired = raw;
    if (desired > downRecommendation) desired = downRecommendation;
    const scaleUpLimit = Math.max(2 * currentReplicas, currentReplicas + 4);
    desired = Math.min(desired, scaleUpLimit);
    return Math.min(this.settings.maxReplicas, Math.max(this.settings.minReplicas, desired));
  }
}

/**
 * The HPA as a backtest strategy: a sync every `syncPeriodMs` on the latest reported step, on
 * the shared utilisation metric.
 */
export function hpaStrategy(settings: HpaSettings): ScalingStrategy {
  const hpa = new HpaAlgorithm(settings);
  return {
    id: 'hpa',
    label: 'Kubernetes HPA',
    syncPeriodMs: settings.syncPeriodMs,
    observe(o: StepObservation): ScaleDecision | undefined {
      const desired = hpa.sync(o.nowMs, o.specReplicas, o.utilizationPercent);
      return desired === o.specReplicas ? undefined : { toReplicas: desired, trigger: 'hpa' };
    },
  };
}
