import { jsonSampleRecord } from '../../ingest/encodeJson.js';
import { BaselineConfigSchema } from '../../baseline/ewma.js';
import type { ActionEnvelope } from '../../dispatch/envelope.js';
import { gate, planAction, type AllowedTarget, type DecisionInput } from '../../execute/decide.js';
import type { Guardrails, TargetHistory } from '../../execute/guardrails.js';
import type { Forecaster } from '../../forecast/forecaster.js';
import { DEFAULT_DECODE_LIMITS } from '../../ingest/limits.js';
import { toPipelinePolicy } from '../../pipeline/pipelinePolicy.js';
import { replayForecastStage } from '../../pipeline/forecastStage.js';
import { Processor } from '../../pipeline/processor.js';
import type { Policy } from '../../policy/schema.js';
import type { ScaleDecision, ScalingStrategy, StepObservation } from './strategy.js';

/** Name and labels of the series the backtest feeds healcast's core. */
export const BACKTEST_METRIC = 'utilization_percent';
export const BACKTEST_LABELS: Readonly<Record<string, string>> = { app: 'backtest' };

/** One series is replayed; a few slots spare. */
const MAX_SERIES = 4;

/** How healcast is assembled for a replay. */
export interface HealcastScalerOptions {
  readonly id: string;
  readonly label: string;
  /** Validated policies (e.g. from `parsePolicies`). */
  readonly policies: readonly Policy[];
  /** The forecasting model; without one only reactive triggers can fire. */
  readonly forecaster?: Forecaster | undefined;
  /** The executor's guardrails for the simulated target. */
  readonly guardrails: Guardrails;
}

/** The policies with their predictive triggers removed: the same rules, reactive only. */
export function reactiveOnly(policies: readonly Policy[]): Policy[] {
  return policies.map((p) => ({ ...p, trigger: { ...p.trigger, predict: undefined } }));
}

/**
 * healcast as a backtest strategy, through the real pure core: each step's utilisation goes
 * into the worker's `Processor` as a JSON metric record (decode, EWMA baseline, policies,
 * forecasts and predictive triggers, cooldowns), and each fire's scale actions go through the
 * executor's decision (`gate` + `planAction`: rate limit, `planScale` with the guardrails, the
 * proportional rule) against the simulated target. The executor acts at once; the start-up delay
 * is the target's.
 */
export function healcastStrategy(options: HealcastScalerOptions): ScalingStrategy {
  const stage =
    options.forecaster === undefined
      ? undefined
      : replayForecastStage(options.forecaster, MAX_SERIES);
  const processor = new Processor({
    policies: options.policies.filter((p) => p.enabled).map(toPipelinePolicy),
    baseline: BaselineConfigSchema.parse({}),
    maxSeries: MAX_SERIES,
    format: 'json',
    // Traces are old (NASA 1995) or start at 0: event time is the trace's own.
    limits: { ...DEFAULT_DECODE_LIMITS, minTimestampMs: Number.MIN_SAFE_INTEGER },
    ...(stage === undefined ? {} : { forecast: stage }),
  });
  const target: AllowedTarget = {
    key: 'deployment//backtest',
    guardrails: options.guardrails,
    requireApproval: [],
    supports: () => true,
  };
  const executedAtMs: number[] = [];
  const rateWindowMs = options.guardrails.maxActions.window;
  let lastScaleUpAtMs: number | undefined;
  let offset = 0;

  function decide(envelope: ActionEnvelope, o: StepObservation, current: number) {
    const history: TargetHistory = {
      executedAtMs,
      ...(lastScaleUpAtMs === undefined ? {} : { lastScaleUpAtMs }),
    };
    const input: DecisionInput & { target: AllowedTarget } = {
      envelope,
      target,
      killSwitch: undefined,
      dryRun: false,
      approval: undefined,
      breakerOpen: false,
      history,
      maxActionAgeMs: Number.POSITIVE_INFINITY,
      nowMs: o.nowMs,
    };
    if (gate(input).kind !== 'proceed') return undefined;
    const decision = planAction(input, { replicas: current, readyReplicas: o.readyReplicas });
    if (decision.kind !== 'execute' || decision.plan.op !== 'scale') return undefined;
    return decision.plan.toReplicas;
  }

  return {
    id: options.id,
    label: options.label,
    observe(o: StepObservation): ScaleDecision | undefined {
      const record = jsonSampleRecord(
        {
          name: BACKTEST_METRIC,
          labels: BACKTEST_LABELS,
          timestampMs: o.stepStartMs,
          value: o.utilizationPercent,
        },
        { topic: 'backtest', offset: offset++, timestampMs: o.nowMs },
      );
      const { fires } = processor.processBatch([record], o.nowMs);
      let current = o.specReplicas;
      let trigger: string | undefined;
      for (const fire of fires) {
        if (fire.forecastOnly === true) continue;
        for (const envelope of fire.actions) {
          if (envelope.type !== 'scale') continue;
          const to = decide(envelope, o, current);
          if (to === undefined || to === current) continue;
          // Only the rate limit reads these, and only those inside its window.
          while (executedAtMs.length > 0 && (executedAtMs[0] as number) <= o.nowMs - rateWindowMs) {
            executedAtMs.shift();
          }
          executedAtMs.push(o.nowMs);
          if (to > current) lastScaleUpAtMs = o.nowMs;
          // What the executor's outcome tells the live worker: the replica count moved.
          processor.replicasChanged(envelope.target, current, to, o.nowMs);
          current = to;
          trigger = envelope.trigger;
        }
      }
      return trigger === undefined ? undefined : { toReplicas: current, trigger };
    },
  };
}
