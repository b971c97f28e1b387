import { formatDurationMs } from '../config/duration.js';
import { loadPolicyFile } from '../adapters/fsPolicyLoader.js';
import { HealcastError } from '../errors.js';
import { PolicyInvalidError } from '../policy/load.js';
import {
  distrustCeiling,
  keepsForecastAhead,
  type Policy,
  type PolicyAction,
  type ProbeSpec,
} from '../policy/schema.js';
import type { Selector } from '../policy/selector.js';

/** Where `policyValidate` writes; every call receives whole lines ending in `\n`. */
export interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Options of `healcast policy validate`. */
export interface PolicyValidateOptions {
  /** Print one JSON document on stdout (normalised policies, or the issues) instead of text. */
  readonly json?: boolean;
}

/** Exit codes of `healcast policy validate`. */
export const POLICY_VALIDATE_EXIT = { valid: 0, invalid: 1, unreadable: 2 } as const;

/**
 * `healcast policy validate <file>`: loads a policy file and reports.
 *
 * Text mode: valid → one summary line per policy on stdout and warnings on stderr, exit 0;
 * invalid → one line per problem on stderr, exit 1; unreadable → the reason on stderr,
 * exit 2. JSON mode prints `{ file, valid, policies | issues | error }` on stdout with the
 * same exit codes (compiled regexes are omitted; each matcher keeps `op` and `value`).
 */
export async function policyValidate(
  file: string,
  out: CommandOutput,
  options: PolicyValidateOptions = {},
): Promise<number> {
  const json = options.json === true;
  const printJson = (value: unknown) => {
    out.stdout(
      `${JSON.stringify(value, (_key, v: unknown) => (v instanceof RegExp ? undefined : v), 2)}\n`,
    );
  };
  let policies: Policy[];
  try {
    policies = await loadPolicyFile(file);
  } catch (error) {
    if (error instanceof PolicyInvalidError) {
      if (json) {
        printJson({
          file,
          valid: false,
          issues: error.issues.map(({ text: _text, ...rest }) => rest),
        });
      } else {
        out.stderr(`${error.message}\n`);
        out.stderr(`${file}: invalid (${plural(error.issues.length, 'problem')})\n`);
      }
      return POLICY_VALIDATE_EXIT.invalid;
    }
    if (error instanceof HealcastError && error.code === 'FILE_UNREADABLE') {
      if (json) printJson({ file, valid: false, error: error.message });
      else out.stderr(`${error.message}\n`);
      return POLICY_VALIDATE_EXIT.unreadable;
    }
    throw error;
  }
  if (json) {
    printJson({ file, valid: true, policies });
    return POLICY_VALIDATE_EXIT.valid;
  }
  out.stdout(`${file}: valid, ${plural(policies.length, 'policy', 'policies')}\n`);
  for (const policy of policies) out.stdout(`  ${describePolicy(policy)}\n`);
  for (const policy of policies) {
    for (const warning of policy.warnings)
      out.stderr(`warning: ${file}: ${policy.name}: ${warning}\n`);
  }
  return POLICY_VALIDATE_EXIT.valid;
}

/**
 * One human-readable line: name, condition (metric, selector, comparison, duration),
 * actions, target, cooldown and, for a predictive policy, horizon, probability, lead time and
 * dry run, e.g.
 * `cpu-high: when cpu_utilization{env!="dev"} > 80 for 5m: scale +2 (max 10) on service "api"; cooldown 10m; predicts 10m ahead at p≥0.8, lead time 3m`.
 */
export function describePolicy(policy: Policy): string {
  const { trigger, target } = policy;
  const op = `${trigger.direction === 'above' ? '>' : '<'}${trigger.inclusive ? '=' : ''}`;
  const held =
    trigger.durationMs === 0 ? 'on the first sample' : `for ${formatDuration(trigger.durationMs)}`;
  const where =
    target.namespace === undefined ? '' : ` in namespace ${JSON.stringify(target.namespace)}`;
  return (
    `${policy.name}${policy.enabled ? '' : ' (disabled)'}: ` +
    (policy.probe === undefined
      ? `when ${trigger.metric}${formatSelector(trigger.selector)} ${op} ${trigger.threshold} ${held}` +
        (policy.deployment === undefined
          ? ': '
          : ` within ${formatDuration(policy.deployment.windowMs)} of a deployment of "${policy.deployment.serviceTemplate}": `)
      : `when ${describeProbe(policy.probe)}: `) +
    `${policy.actions.map(describeAction).join(', then ')} ` +
    `on ${target.kind} ${JSON.stringify(target.name)}${where}; ` +
    `cooldown ${formatDuration(policy.cooldownMs)}${describePrediction(policy)}`
  );
}

/**
 * `GET http://127.0.0.1:8080/healthz fails 3 times in a row (probed every 10s, timeout 1s,
 * initial delay 10s)`: the probe a probe policy stands for, instead of its derived trigger.
 */
function describeProbe(probe: ProbeSpec): string {
  const { scheme, host, port, path } = probe.httpGet;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  const fails =
    probe.failureThreshold === 1 ? 'fails' : `fails ${probe.failureThreshold} times in a row`;
  const delay =
    probe.initialDelayMs === 0 ? '' : `, initial delay ${formatDuration(probe.initialDelayMs)}`;
  return (
    `GET ${url} ${fails} ` +
    `(probed every ${formatDuration(probe.periodMs)}, timeout ${formatDuration(probe.timeoutMs)}${delay})`
  );
}

/**
 * `; predicts 10m ahead at p≥0.8[, raised per series up to p≥1 while its fires prove unneeded
 * (half-life 20 fires)], lead time 3m[, forecast only]` for a predictive policy, and
 * `; sized not below the forecast's p70 for the next 5m` for a proportional scale-in with a
 * lead time (`keepsForecastAhead`); empty for neither.
 */
function describePrediction(policy: Policy): string {
  const { predict } = policy.trigger;
  const parts: string[] = [];
  if (predict !== undefined) {
    parts.push(`predicts ${formatDuration(predict.horizonMs)} ahead at p≥${predict.probability}`);
    const { distrust } = predict;
    if (distrust !== undefined) {
      const ceiling = distrustCeiling(predict.probability, distrust.maxFactor);
      parts.push(
        `raised per series up to p≥${Number(ceiling.toFixed(3))} while its fires prove unneeded (half-life ${distrust.halfLifeFires} fires)`,
      );
    }
    if (policy.leadTimeMs > 0) parts.push(`lead time ${formatDuration(policy.leadTimeMs)}`);
    if (policy.forecastOnly) parts.push('forecast only (predictive actions not enqueued)');
  }
  if (keepsForecastAhead(policy.trigger.direction, policy.leadTimeMs, policy.actions)) {
    const level = Math.round(100 * (1 - policy.reserveProbability));
    parts.push(
      `sized not below the forecast's ${level === 50 ? 'median' : `p${level}`} for the next ${formatDuration(policy.leadTimeMs)}`,
    );
  }
  return parts.length === 0 ? '' : `; ${parts.join(', ')}`;
}

function describeAction(action: PolicyAction): string {
  if (action.type === 'scale') {
    const { scale } = action;
    const amount =
      scale.mode === 'proportional'
        ? `to ceil(replicas × value / ${scale.targetPerReplica})`
        : scale.mode === 'absolute'
          ? `to ${scale.replicas}`
          : `${scale.replicas > 0 ? '+' : ''}${scale.replicas}`;
    const bounds = [
      ...(scale.minReplicas === undefined ? [] : [`min ${scale.minReplicas}`]),
      ...(scale.maxReplicas === undefined ? [] : [`max ${scale.maxReplicas}`]),
    ];
    return `scale ${amount}${bounds.length === 0 ? '' : ` (${bounds.join(', ')})`}`;
  }
  return Object.keys(action.parameters).length === 0
    ? action.type
    : `${action.type} ${JSON.stringify(action.parameters)}`;
}

/** PromQL-style rendering: `{service="api",pod=~"api-.*"}`; empty for no matchers. */
function formatSelector(selector: Selector): string {
  if (selector.length === 0) return '';
  return `{${selector.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
}

/** Milliseconds as the shortest exact `1h30m`-style string (see `formatDurationMs`). */
export const formatDuration = formatDurationMs;

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
