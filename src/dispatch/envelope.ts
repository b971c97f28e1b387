import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The action envelope, version 1: what the worker puts on the actions stream and what an
 * executor consumes. Documented in docs/action-envelope.md; additive changes keep the
 * version, anything else bumps it.
 */
export const ACTION_SCHEMA_VERSION = 'healcast.action/v1' as const;
// v1 grew `trigger: "predictive"` and `evidence.prediction` additively (issue #3), and
// `evidence.deployment` for deployment-gated policies (issue #4, automatic rollbacks), and
// `evidence.breachPeak` (issue #5, scale-in sized from the breach's highest value), and
// `evidence.forecastAheadPeak` (issue #5, nor below the load forecast within the lead time),
// and `evidence.prediction.forecastAtRisk` (issue #5, predictive scale-outs sized for the load
// at the policy's own probability, not the forecast's outer quantile).

export const ActionTargetSchema = z.object({
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
});
export type ActionTarget = z.infer<typeof ActionTargetSchema>;

export const ActionEvidenceSchema = z.object({
  /** Canonical series key (`name{labels}`) whose samples breached. */
  series: z.string(),
  metric: z.string(),
  labels: z.record(z.string(), z.string()),
  /** The value of the sample that completed the breach. */
  value: z.number(),
  /**
   * For reactive fires (additive, issue #5): the highest value of the series during the
   * breach, from `breachStartMs` to the sample that completed it. A scale-in sizes from it.
   */
  breachPeak: z.number().optional(),
  /**
   * For reactive `below` fires of a policy with a lead time (additive, issue #5): the highest
   * forecast of the series from the fire until a lead time later, at level 1 − the policy's
   * `reserve.probability` (the median by default) — the load to keep for until released
   * capacity could be back. A scale-in is not sized below it.
   */
  forecastAheadPeak: z.number().optional(),
  threshold: z.number(),
  direction: z.enum(['above', 'below']),
  /** Event time of the first breaching sample and how long the breach had lasted. */
  breachStartMs: z.number(),
  breachDurationMs: z.number(),
  /** The series' EWMA baseline just before the sample (null while it was warming up). */
  baselineMean: z.number().nullable(),
  baselineLower: z.number().nullable(),
  baselineUpper: z.number().nullable(),
  /** Anomaly score in [0,1] of the sample against its baseline. */
  anomalyScore: z.number().min(0).max(1),
  /** For predictive fires: what the forecast said. */
  prediction: z
    .object({
      /** P(breach within the policy's horizon) from the quantile forecast. */
      probability: z.number().min(0).max(1),
      /** Expected time from `observedAtMs` to the breach (ms). */
      etaMs: z.number().min(0),
      /** observedAtMs + etaMs. */
      predictedBreachAtMs: z.number(),
      /** The policy's lead time: how long the target needs to be ready (ms). */
      leadTimeMs: z.number().min(0),
      horizonMs: z.number().positive(),
      /** The upper-quantile forecast at the predicted breach step. */
      forecastUpper: z.number(),
      /**
       * Additive (issue #5): the forecast at the predicted breach step at level 1 − the
       * policy's probability — the load the policy's own risk tolerance plans for. A
       * proportional scale sizes from it when present (else from `forecastUpper`).
       */
      forecastAtRisk: z.number().optional(),
      modelVersion: z.string(),
    })
    .optional(),
  /**
   * For policies gated on a deployment: the deployment whose watch window the fire fell in
   * (what a rollback undoes; `previousVersion` is what it goes back to, when known).
   */
  deployment: z
    .object({
      service: z.string(),
      version: z.string(),
      previousVersion: z.string().optional(),
      /** Event time of the deployment (ms since epoch). */
      deployedAtMs: z.number(),
    })
    .optional(),
});
export type ActionEvidence = z.infer<typeof ActionEvidenceSchema>;

export const ActionEnvelopeSchema = z.object({
  schema: z.literal(ACTION_SCHEMA_VERSION),
  /** Idempotency key: an executor must never act twice on one id. */
  actionId: z.string().min(1),
  /** All actions of one policy firing share a fire id; dedupe and cooldown work on it. */
  fireId: z.string().min(1),
  /** Position of this action within the policy's action list. */
  actionIndex: z.number().int().min(0),
  policy: z.string(),
  target: ActionTargetSchema,
  type: z.enum(['scale', 'restart', 'rollback']),
  /** The policy's parameters, verbatim. */
  parameters: z.record(z.string(), z.unknown()),
  /** For `scale`: the normalised request. */
  scale: z
    .object({
      /**
       * `proportional` (additive, issue #5): desired = ceil(current × value / targetPerReplica),
       * value being `evidence.prediction.forecastUpper` for predictive fires,
       * `evidence.breachPeak` for reactive `below` breaches (scale-in sized for the busiest
       * moment of the quiet spell, not its last sample; without it the higher of
       * `evidence.value` and `evidence.baselineMean`), else `evidence.value`; `replicas` is 0 then.
       */
      mode: z.enum(['relative', 'absolute', 'proportional']),
      replicas: z.number(),
      targetPerReplica: z.number().positive().optional(),
      minReplicas: z.number().optional(),
      maxReplicas: z.number().optional(),
    })
    .optional(),
  /**
   * `reactive`: the threshold was actually breached for the policy's duration;
   * `predictive`: the forecast says it will be, within the policy's horizon, and the target
   * needs its lead time to be ready (see `evidence.prediction`).
   */
  trigger: z.enum(['reactive', 'predictive']),
  evidence: ActionEvidenceSchema,
  /** Event time of the sample that fired the policy (ms since epoch). */
  observedAtMs: z.number(),
  /** Wall-clock time the worker decided (ms since epoch). */
  decidedAtMs: z.number(),
  /** The (policy, target) pair does not fire again before observedAtMs + cooldownMs. */
  cooldownMs: z.number().min(0),
});
export type ActionEnvelope = z.infer<typeof ActionEnvelopeSchema>;

/**
 * One policy firing: the actions it produces and the facts the sink needs to enforce
 * at-most-once enqueueing (fire id) and the cooldown durably (target key, event time).
 */
export interface Fire {
  readonly fireId: string;
  readonly policy: string;
  /** `policy|kind/namespace/name`: the unit a cooldown applies to. */
  readonly cooldownKey: string;
  readonly observedAtMs: number;
  readonly cooldownMs: number;
  readonly actions: readonly ActionEnvelope[];
  /** Recorded but not enqueued: the policy (or the worker) is in forecast-only mode. */
  readonly forecastOnly?: boolean;
}

/**
 * Deterministic fire id: the same policy firing for the same target, series and breach
 * (by event time) gets the same id when a batch is processed again after a crash, which is
 * what lets the sink drop the repeat.
 */
export function fireIdOf(parts: {
  policy: string;
  cooldownKey: string;
  series: string;
  breachStartMs: number;
  observedAtMs: number;
}): string {
  const hash = createHash('sha256');
  hash.update(parts.policy);
  hash.update('\u0000');
  hash.update(parts.cooldownKey);
  hash.update('\u0000');
  hash.update(parts.series);
  hash.update('\u0000');
  hash.update(String(parts.breachStartMs));
  hash.update('\u0000');
  hash.update(String(parts.observedAtMs));
  return hash.digest('base64url').slice(0, 22);
}

/** The unit a cooldown applies to: `policy|kind/namespace/name` (see `Fire.cooldownKey`). */
export function cooldownKeyOf(policy: string, target: ActionTarget): string {
  return `${policy}|${targetKeyOf(target)}`;
}

/** Key identifying a target for cooldowns: `kind/namespace/name`. */
export function targetKeyOf(target: ActionTarget): string {
  return `${target.kind}/${target.namespace ?? ''}/${target.name}`;
}
