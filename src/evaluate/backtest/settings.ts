import { z } from 'zod';
import { DurationMs } from '../../config/duration.js';
import { GuardrailsSchema } from '../../execute/guardrails.js';

/**
 * What a trace measures, which decides how its values become demand on the simulated target:
 * `requests` (a request rate: the value is the demand) or `cpu` (a fleet's CPU utilisation:
 * demand = value × `baseReplicas` in CPU units, one replica serving 100 units at 100 %).
 */
export const TraceKindSchema = z.enum(['requests', 'cpu']);
export type TraceKind = z.infer<typeof TraceKindSchema>;

/**
 * The simulated target and the knobs every strategy shares. One set per trace kind, chosen
 * from how such services behave, never fitted to a trace (see {@link DEFAULT_SIMULATION}).
 */
export const SimulationSettingsSchema = z
  .strictObject({
    kind: TraceKindSchema,
    /** Demand one ready replica serves (requests per step unit, or CPU units). */
    capacityPerReplica: z.number().positive(),
    /** `cpu` traces: size of the fleet the utilisation was measured on. */
    baseReplicas: z.number().positive().default(1),
    /** Trace values are multiplied by this first (Google's CPU is a 0–1 fraction: 100). */
    valueScale: z.number().positive().default(1),
    /** A new replica serves only this long after it was asked for (image pull, start, readiness). */
    startupDelay: DurationMs,
    minReplicas: z.number().int().min(1),
    maxReplicas: z.number().int().min(1),
    /** Replicas at the start of the trace. */
    initialReplicas: z.number().int().min(1),
    /**
     * Utilisation (percent of the replicas' capacity) every strategy aims for: HPA's target,
     * healcast's `targetPerReplica`, the Holt-Winters scaler's sizing.
     */
    targetUtilizationPercent: z.number().positive().max(100),
    /** HPA: the ratio band around 1 inside which it does not act. */
    hpaTolerance: z.number().min(0).default(0.1),
    /** HPA: scale-down uses the largest recommendation of this window. */
    hpaScaleDownStabilization: DurationMs.default(300_000),
    /**
     * HPA: how often it syncs (kube-controller-manager's `--horizontal-pod-autoscaler-sync-period`,
     * 15 s by default), each time on the latest reported metric. The stabilization window is
     * counted over these syncs: on a trace of 5-minute samples a once-per-step HPA would hold a
     * single recommendation in its 300-s window and scale in on one sample, which the real one,
     * holding the previous sample's recommendations until 285 s later, does not.
     */
    hpaSyncPeriod: DurationMs.default(15_000),
    /** The executor's guardrails for the simulated target (applied to healcast's actions). */
    guardrails: GuardrailsSchema,
  })
  .superRefine((settings, ctx) => {
    if (settings.minReplicas > settings.maxReplicas) {
      ctx.addIssue({
        code: 'custom',
        path: ['minReplicas'],
        message: `is above maxReplicas (${settings.maxReplicas})`,
      });
    }
    if (
      settings.initialReplicas < settings.minReplicas ||
      settings.initialReplicas > settings.maxReplicas
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialReplicas'],
        message: `must lie within [minReplicas, maxReplicas] = [${settings.minReplicas}, ${settings.maxReplicas}]`,
      });
    }
  });
export type SimulationSettings = z.output<typeof SimulationSettingsSchema>;
export type SimulationSettingsInput = z.input<typeof SimulationSettingsSchema>;

/**
 * The executor's guardrails for the simulated target. Its defaults (4 up, 1 down, 6 actions an
 * hour) are for a human-sized blast radius; here they would only measure the guardrails, not
 * the scaler, and HPA has no such limits. So the steps allow what HPA's default behaviour allows
 * in one sync (double, or +4), scale-in after 5 minutes (HPA's stabilization) and an action a
 * minute at most.
 */
const BACKTEST_GUARDRAILS = {
  minReplicas: 1,
  maxReplicas: 200,
  maxStepUp: 50,
  maxStepDown: 50,
  maxActions: { count: 60, window: '1h' },
  scaleDownStabilization: '5m',
} as const;

/**
 * Defaults per trace kind — why each value:
 * - requests: a replica serves 20 requests/min. NASA-HTTP in 1995 peaked at ~400/min, so the
 *   month spans 1–30 replicas: integer replica counts matter without dominating. A web pod
 *   whose image is cached is ready in about 2 minutes (start + readiness probe).
 * - cpu: the cluster-wide utilisation is that of a fleet of 10 replicas (100 CPU units each at
 *   100 %), so a 10-point swing is one replica. New capacity for such workloads is a node
 *   (VM boot + join + pod start): 5 minutes.
 * - Both aim at 70 % utilisation, the common production target (headroom for one step of
 *   growth), with HPA's own defaults (tolerance 0.1, 5-minute scale-down stabilization).
 */
export const DEFAULT_SIMULATION: Readonly<Record<TraceKind, SimulationSettingsInput>> = {
  requests: {
    kind: 'requests',
    capacityPerReplica: 20,
    startupDelay: '2m',
    minReplicas: 1,
    maxReplicas: 200,
    initialReplicas: 2,
    targetUtilizationPercent: 70,
    guardrails: BACKTEST_GUARDRAILS,
  },
  cpu: {
    kind: 'cpu',
    capacityPerReplica: 100,
    baseReplicas: 10,
    startupDelay: '5m',
    minReplicas: 1,
    maxReplicas: 200,
    initialReplicas: 10,
    targetUtilizationPercent: 70,
    guardrails: BACKTEST_GUARDRAILS,
  },
};
