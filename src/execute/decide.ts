import { targetKeyOf, type ActionEnvelope } from '../dispatch/envelope.js';
import {
  planScale,
  rateLimit,
  scaleMetricValue,
  type Guardrails,
  type TargetHistory,
} from './guardrails.js';
import type { ActionPlan, OutcomeReason } from './outcome.js';
import type { TargetObservation } from './targetDriver.js';

/** What the executor's allow-list says about one target, as the decision needs it. */
export interface AllowedTarget {
  /** `kind/namespace/name`. */
  readonly key: string;
  readonly guardrails: Guardrails;
  /** Action types that wait for a human before they run (rollback by default). */
  readonly requireApproval: readonly ActionEnvelope['type'][];
  /** Whether the target's driver can carry out an action type. */
  supports(type: ActionEnvelope['type']): boolean;
}

/** Everything a decision depends on; gathered by the executor, passed in. */
export interface DecisionInput {
  readonly envelope: ActionEnvelope;
  /** Undefined: the target is not in the allow-list. */
  readonly target: AllowedTarget | undefined;
  /** Where the kill switch is on, if it is (`env`, `redis`, `config`). */
  readonly killSwitch: string | undefined;
  readonly dryRun: boolean;
  readonly approval:
    { readonly decision: 'approved' | 'rejected'; readonly by: string } | undefined;
  readonly breakerOpen: boolean;
  readonly history: TargetHistory;
  /** Actions older than this (from `decidedAtMs`) are not executed. */
  readonly maxActionAgeMs: number;
  readonly nowMs: number;
}

/** The verdict before the target is looked at. */
export type Gate =
  | { readonly kind: 'proceed' }
  | { readonly kind: 'skip'; readonly reason: OutcomeReason; readonly message: string }
  | {
      readonly kind: 'defer';
      readonly reason: 'awaiting_approval' | 'breaker_open';
      readonly message: string;
    };

/**
 * First half of a decision, made without touching the target. The order matters and is what
 * an operator would expect: the allow-list before anything (an unknown target is never even
 * observed), a human's "no" before automation, the kill switch before any other automation,
 * then freshness, capability, approval, rate and the breaker.
 */
export function gate(input: DecisionInput): Gate {
  const { envelope, target, approval, nowMs } = input;
  if (target === undefined) {
    return {
      kind: 'skip',
      reason: 'target_not_allowed',
      message: `target ${targetKeyOf(envelope.target)} is not in the executor's allow-list; refused`,
    };
  }
  if (approval?.decision === 'rejected') {
    return { kind: 'skip', reason: 'rejected', message: `rejected by ${approval.by}` };
  }
  if (input.killSwitch !== undefined) {
    return {
      kind: 'skip',
      reason: 'kill_switch',
      message: `kill switch is on (${input.killSwitch}); nothing is executed`,
    };
  }
  const ageMs = nowMs - envelope.decidedAtMs;
  if (approval === undefined && ageMs > input.maxActionAgeMs) {
    return {
      kind: 'skip',
      reason: 'expired',
      message: `decided ${Math.round(ageMs / 1000)}s ago, beyond maxActionAge ${Math.round(input.maxActionAgeMs / 1000)}s`,
    };
  }
  if (!target.supports(envelope.type)) {
    return {
      kind: 'skip',
      reason: 'unsupported_action',
      message: `target ${target.key} cannot ${envelope.type}`,
    };
  }
  if (approval === undefined && target.requireApproval.includes(envelope.type)) {
    return {
      kind: 'defer',
      reason: 'awaiting_approval',
      message: `${envelope.type} of ${target.key} needs a human: healcast approve ${envelope.actionId}`,
    };
  }
  const rate = rateLimit(target.guardrails, input.history, nowMs);
  if (!rate.allowed) {
    return {
      kind: 'skip',
      reason: 'rate_limited',
      message: `${rate.inWindow} actions on ${target.key} in the last ${Math.round(target.guardrails.maxActions.window / 1000)}s (max ${target.guardrails.maxActions.count})`,
    };
  }
  if (input.breakerOpen) {
    return {
      kind: 'defer',
      reason: 'breaker_open',
      message: `the circuit breaker of ${target.key} is open; escalated`,
    };
  }
  return { kind: 'proceed' };
}

/** The second half: what exactly to do, given what the target looks like now. */
export type PlanDecision =
  | { readonly kind: 'execute'; readonly plan: ActionPlan; readonly message: string }
  | {
      readonly kind: 'skip';
      readonly reason: OutcomeReason;
      readonly message: string;
      readonly plan?: ActionPlan;
    };

export function planAction(
  input: DecisionInput & { readonly target: AllowedTarget },
  observation: TargetObservation,
): PlanDecision {
  const { envelope, target, history, nowMs } = input;
  let decision: PlanDecision;
  switch (envelope.type) {
    case 'scale': {
      const current = observation.replicas ?? history.lastReplicas;
      if (envelope.scale === undefined) {
        return {
          kind: 'skip',
          reason: 'unsupported_action',
          message: 'scale action without a scale request',
        };
      }
      if (current === undefined && envelope.scale.mode !== 'absolute') {
        const what =
          envelope.scale.mode === 'relative'
            ? `a relative scale (${envelope.scale.replicas > 0 ? '+' : ''}${envelope.scale.replicas})`
            : `a proportional scale (target ${envelope.scale.targetPerReplica} per replica)`;
        return {
          kind: 'skip',
          reason: 'unknown_replicas',
          message: `cannot apply ${what} to ${target.key}: its replica count cannot be observed and the executor has not set one yet`,
        };
      }
      const scale = planScale(
        envelope.scale,
        current ?? envelope.scale.replicas,
        target.guardrails,
        history,
        nowMs,
        scaleMetricValue(envelope),
      );
      if (!scale.ok) return { kind: 'skip', reason: scale.reason, message: scale.message };
      const plan: ActionPlan = {
        op: 'scale',
        fromReplicas: scale.fromReplicas,
        toReplicas: scale.toReplicas,
        limitedBy: [...scale.limitedBy],
      };
      decision = {
        kind: 'execute',
        plan,
        message: `scale ${target.key} from ${scale.fromReplicas} to ${scale.toReplicas}${scale.limitedBy.length > 0 ? ` (limited by ${scale.limitedBy.join(', ')})` : ''}`,
      };
      break;
    }
    case 'restart':
      decision = {
        kind: 'execute',
        plan: {
          op: 'restart',
          ...(observation.restartMarker === undefined
            ? {}
            : { markerBefore: observation.restartMarker }),
        },
        message: `restart ${target.key}`,
      };
      break;
    case 'rollback': {
      const toRevision = envelope.parameters['toRevision'];
      decision = {
        kind: 'execute',
        plan: {
          op: 'rollback',
          ...(observation.revision === undefined ? {} : { revisionBefore: observation.revision }),
          ...(typeof toRevision === 'number' ? { toRevision } : {}),
        },
        message: `roll ${target.key} back${typeof toRevision === 'number' ? ` to revision ${toRevision}` : ' to its previous revision'}${observation.revision === undefined ? '' : ` (now at revision ${observation.revision})`}`,
      };
      break;
    }
  }
  if (input.dryRun) {
    return {
      kind: 'skip',
      reason: 'dry_run',
      message: `dry run: would ${decision.message}`,
      plan: decision.plan,
    };
  }
  return decision;
}

/**
 * After a crash, was the journaled plan's effect already applied? Only restart and rollback
 * need this (scale re-applies the same absolute count). Unknown when the driver cannot observe
 * the target: then the executor calls again with the same idempotency key.
 */
export function effectAlreadyApplied(plan: ActionPlan, now: TargetObservation): boolean {
  if (plan.op === 'restart') {
    return (
      plan.markerBefore !== undefined &&
      now.restartMarker !== undefined &&
      now.restartMarker !== plan.markerBefore
    );
  }
  if (plan.op === 'rollback') {
    return (
      plan.revisionBefore !== undefined &&
      now.revision !== undefined &&
      now.revision !== plan.revisionBefore
    );
  }
  return false;
}

/** Exponential backoff with full jitter (`random` in [0,1) passed in), capped. */
export function backoffMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: number,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half jittered: never retry immediately, but spread executors that failed together.
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
