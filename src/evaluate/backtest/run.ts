import type { Forecaster } from '../../forecast/forecaster.js';
import type { Policy } from '../../policy/schema.js';
import { healcastStrategy, reactiveOnly } from './healcastScaler.js';
import { holtWintersStrategy } from './holtWintersScaler.js';
import { hpaStrategy } from './hpa.js';
import { checkTarget, summarize, type StrategySummary, type TargetCheck } from './report.js';
import type { SimulationSettings } from './settings.js';
import { simulate, type DemandTrace, type StrategyRun } from './simulate.js';

/** Share of the trace the Holt-Winters constants are fitted on. */
export const HOLT_WINTERS_FIT_SHARE = 0.25;

/** Everything a backtest needs, loaded by the caller. */
export interface BacktestInput {
  readonly trace: DemandTrace;
  readonly settings: SimulationSettings;
  readonly policies: readonly Policy[];
  readonly forecaster: Forecaster | undefined;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The result of one backtest: figures per strategy, the target check, and the runs to plot. */
export interface BacktestResult {
  readonly summaries: StrategySummary[];
  readonly target: TargetCheck;
  readonly runs: StrategyRun[];
}

/**
 * Runs the four strategies over one trace in one pass, on one simulated target each:
 * healcast predictive (the policies as given, with the model), healcast reactive-only (the same
 * policies without `trigger.predict`), the Kubernetes HPA and a Holt-Winters predictive scaler.
 * HPA, healcast and the Holt-Winters scaler aim at the same utilisation; HPA and healcast watch
 * the same metric (utilisation of the replicas asked for), the Holt-Winters scaler the demand.
 */
export function runBacktest(input: BacktestInput): BacktestResult {
  const { trace, settings, policies } = input;
  const targetPerReplica = settings.targetUtilizationPercent;
  const strategies = [
    healcastStrategy({
      id: 'healcast_predictive',
      label: 'healcast predictive',
      policies,
      forecaster: input.forecaster,
      guardrails: settings.guardrails,
    }),
    healcastStrategy({
      id: 'healcast_reactive',
      label: 'healcast reactive-only',
      policies: reactiveOnly(policies),
      guardrails: settings.guardrails,
    }),
    hpaStrategy({
      targetPerReplica,
      tolerance: settings.hpaTolerance,
      scaleDownStabilizationMs: settings.hpaScaleDownStabilization,
      syncPeriodMs: settings.hpaSyncPeriod,
      minReplicas: settings.minReplicas,
      maxReplicas: settings.maxReplicas,
    }),
    holtWintersStrategy(trace.demand, trace.stepMs, {
      demandPerReplicaAtTarget: (settings.capacityPerReplica * targetPerReplica) / 100,
      horizonSteps: Math.max(1, Math.ceil(settings.startupDelay / trace.stepMs)),
      scaleDownStabilizationMs: settings.hpaScaleDownStabilization,
      syncPeriodMs: settings.hpaSyncPeriod,
      minReplicas: settings.minReplicas,
      maxReplicas: settings.maxReplicas,
      fitShare: HOLT_WINTERS_FIT_SHARE,
    }),
  ];
  const runs = simulate(trace, settings, strategies, input.onProgress);
  const summaries = runs.map((run) => summarize(run, trace, settings));
  const byId = (id: string): StrategySummary =>
    summaries.find((s) => s.id === id) as StrategySummary;
  return {
    summaries,
    target: checkTarget(byId('healcast_predictive'), byId('hpa')),
    runs,
  };
}
