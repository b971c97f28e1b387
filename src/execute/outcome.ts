import { z } from 'zod';
import { ActionEnvelopeSchema } from '../dispatch/envelope.js';

/**
 * The outcome record, version 1: what the executor writes to the outcomes stream for every
 * action it took a decision on, and what the worker reads back (cooldowns, the "learn" step).
 * Additive changes keep the version.
 */
export const OUTCOME_SCHEMA_VERSION = 'healcast.outcome/v1' as const;

/** Why an action ended as it did; machine-readable, stable. */
export const OUTCOME_REASONS = {
  succeeded: {
    executed: 'the target was changed',
    already_done: 'a re-delivery found the effect already in place (executor crashed after acting)',
  },
  skipped: {
    dry_run: 'dry run: recorded what would be done, changed nothing',
    kill_switch: 'the kill switch is on',
    target_not_allowed: "the target is not in the executor's allow-list",
    unsupported_action: "the target's driver cannot carry out this action type",
    rate_limited: 'the target had its maximum number of actions in the window',
    stabilizing: 'scale-in within the stabilization window after a scale-out',
    no_change: 'the target is already where the action (within guardrails) would put it',
    unknown_replicas: 'a relative scale on a target whose replica count cannot be observed',
    rejected: 'a human rejected the action',
    expired: 'the action waited longer than maxActionAge; acting on stale data is unsafe',
  },
  deferred: {
    awaiting_approval:
      'the action needs a human: `healcast approve <id>` or `healcast reject <id>`',
    breaker_open:
      "the target's circuit breaker is open; escalated, and put back on the actions stream when it closes (unless its type needs approval)",
  },
  failed: {
    retries_exhausted: 'every attempt failed; moved to the dead-letter stream',
    permanent_error: 'the target refused the action in a way a retry cannot fix',
    invalid_action: 'the stream entry is not a valid action envelope',
  },
} as const;

export type OutcomeStatus = keyof typeof OUTCOME_REASONS;
export type OutcomeReason = {
  [S in OutcomeStatus]: keyof (typeof OUTCOME_REASONS)[S];
}[OutcomeStatus];

const REASONS = Object.values(OUTCOME_REASONS).flatMap((r) => Object.keys(r)) as [
  OutcomeReason,
  ...OutcomeReason[],
];

/** What the executor planned to do (journaled before acting). */
export const ActionPlanSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('scale'),
    fromReplicas: z.number().int(),
    toReplicas: z.number().int(),
    limitedBy: z.array(z.string()),
  }),
  z.object({ op: z.literal('restart'), markerBefore: z.string().optional() }),
  z.object({
    op: z.literal('rollback'),
    revisionBefore: z.string().optional(),
    toRevision: z.number().int().optional(),
  }),
]);
export type ActionPlan = z.infer<typeof ActionPlanSchema>;

/** One failed attempt, kept for the dead-letter record. */
export const AttemptSchema = z.object({
  attempt: z.number().int().min(1),
  atMs: z.number(),
  error: z.string(),
  retriable: z.boolean(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

export const OutcomeSchema = z.object({
  schema: z.literal(OUTCOME_SCHEMA_VERSION),
  actionId: z.string(),
  fireId: z.string(),
  policy: z.string(),
  /** `policy|kind/namespace/name`, the worker's cooldown key for this action. */
  cooldownKey: z.string(),
  target: ActionEnvelopeSchema.shape.target,
  type: ActionEnvelopeSchema.shape.type,
  trigger: ActionEnvelopeSchema.shape.trigger,
  status: z.enum(['succeeded', 'failed', 'skipped', 'deferred']),
  reason: z.enum(REASONS),
  /** One line for humans. */
  message: z.string(),
  plan: ActionPlanSchema.optional(),
  effect: z
    .object({ summary: z.string(), details: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  attempts: z.array(AttemptSchema),
  dryRun: z.boolean(),
  /** From the envelope: the sample's event time and when the worker decided. */
  observedAtMs: z.number(),
  decidedAtMs: z.number(),
  /** For predictive actions: when the forecast expected the breach. */
  predictedBreachAtMs: z.number().optional(),
  /** When this executor took the action up and when it recorded this outcome (wall clock). */
  startedAtMs: z.number(),
  finishedAtMs: z.number(),
  /** Consumer name of the executor instance. */
  executor: z.string(),
  /** Who approved or rejected it, when a human did. */
  approvedBy: z.string().optional(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;
