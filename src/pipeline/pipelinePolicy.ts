import type { ActionEnvelope, ActionTarget } from '../dispatch/envelope.js';
import type { BreachRule } from '../policy/breach.js';
import type { DeploymentGate, DistrustSettings, Policy } from '../policy/schema.js';
import type { PredictiveRule } from '../predict/predictiveTrigger.js';
import { hasPlaceholder, matchesSelector, renderTemplate } from '../policy/selector.js';

/**
 * A healing policy as the pipeline runs it: the breach rule plus what it needs to match a
 * series and build the actions. Built from a validated policy by `toPipelinePolicy`.
 */
export interface PipelinePolicy extends BreachRule {
  readonly name: string;
  readonly metric: string;
  /** True when a series' labels satisfy the policy's selector. */
  matches(labels: Readonly<Record<string, string>>): boolean;
  /** The target for a series, placeholders filled; undefined when a label is missing. */
  resolveTarget(labels: Readonly<Record<string, string>>): ActionTarget | undefined;
  readonly actions: readonly PipelineAction[];
  /** The predictive trigger, when the policy has one. */
  readonly predict: PredictiveRule | undefined;
  /**
   * Milliseconds the target needs after an action before it helps. For a `below` policy (a
   * scale-in) it is how long released capacity takes to come back: its reactive fires carry
   * the load forecast until then (`evidence.forecastAheadPeak`). Absent: 0.
   */
  readonly leadTimeMs?: number;
  /**
   * For such a scale-in: the accepted chance that the load exceeds what it keeps; the evidence
   * carries the forecast at level 1 − this (policy `reserve`). Absent: 0.5, the median.
   */
  readonly reserveProbability?: number;
  /** `trigger.predict.distrust`: raise the probability per series whose fires prove unneeded. */
  readonly distrust?: DistrustSettings | undefined;
  /** Predictive fires are recorded but not enqueued. */
  readonly forecastOnly: boolean;
  /** The deployment gate, when the policy fires only inside a deployment's watch window. */
  readonly deployment?: PipelineDeploymentGate | undefined;
}

/** A policy's deployment gate, its service template bound. */
export interface PipelineDeploymentGate {
  /** Milliseconds after a deployment during which the policy may fire. */
  readonly windowMs: number;
  /** The deployed service a series belongs to; undefined when a label is missing. */
  serviceOf(labels: Readonly<Record<string, string>>): string | undefined;
}

/** One action of a policy, ready to be put into an envelope. */
export interface PipelineAction {
  readonly type: ActionEnvelope['type'];
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly scale: ActionEnvelope['scale'];
}

/** Prepares a validated policy for the pipeline: selector and target templates bound. */
export function toPipelinePolicy(policy: Policy): PipelinePolicy {
  const { trigger, target } = policy;
  const fixed: ActionTarget | undefined =
    hasPlaceholder(target.name) || hasPlaceholder(target.namespace)
      ? undefined
      : {
          kind: target.kind,
          name: target.name,
          ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
        };
  return {
    name: policy.name,
    metric: trigger.metric,
    threshold: trigger.threshold,
    direction: trigger.direction,
    inclusive: trigger.inclusive,
    durationMs: trigger.durationMs,
    maxGapMs: trigger.maxGapMs,
    cooldownMs: policy.cooldownMs,
    matches: (labels) => matchesSelector(trigger.selector, labels),
    resolveTarget: (labels) => {
      if (fixed) return fixed;
      const name = renderTemplate(target.name, labels);
      if (name === undefined) return undefined;
      if (target.namespace === undefined) return { kind: target.kind, name };
      const namespace = renderTemplate(target.namespace, labels);
      return namespace === undefined ? undefined : { kind: target.kind, name, namespace };
    },
    predict:
      trigger.predict === undefined
        ? undefined
        : {
            probability: trigger.predict.probability,
            horizonMs: trigger.predict.horizonMs,
            leadTimeMs: policy.leadTimeMs,
          },
    leadTimeMs: policy.leadTimeMs,
    reserveProbability: policy.reserveProbability,
    distrust: trigger.predict?.distrust,
    forecastOnly: policy.forecastOnly,
    deployment: policy.deployment === undefined ? undefined : bindGate(policy.deployment),
    actions: policy.actions.map((action) => ({
      type: action.type,
      parameters: action.parameters,
      scale: action.type === 'scale' ? { ...action.scale } : undefined,
    })),
  };
}

function bindGate({ windowMs, serviceTemplate }: DeploymentGate): PipelineDeploymentGate {
  return { windowMs, serviceOf: (labels) => renderTemplate(serviceTemplate, labels) };
}
