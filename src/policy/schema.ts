/**
 * Healing-policy schema: the single source of the policy types.
 *
 * A policy says "when `trigger.metric` (restricted to the series matching
 * `trigger.selector`) stays above/below `trigger.threshold` for `trigger.duration`, run
 * `actions` against `target`, then stay quiet for `cooldown`". With `trigger.predict` it may
 * also act *before* the breach, when a forecast makes it likely soon enough (see
 * `PredictSchema`, `leadTime`, `forecastOnly`). The product's seed format
 * (`trigger`, `actions`, `cooldown`) loads unchanged; every extension is optional with a
 * default, and unknown keys are errors so that typos such as `treshold` cannot silently
 * disable a policy. `parameters` stays free-form because it is forwarded to executors.
 *
 * `HealingPolicySchema` parses one policy into its normalised form (`Policy`): durations in
 * milliseconds, direction and inclusiveness resolved, selector regexes compiled, scale
 * parameters reduced to one `ScaleSpec`, predictive settings resolved with their defaults.
 * `PolicyFileSchema` parses a whole file.
 */
import { z } from 'zod';
import { DurationMs, formatDurationMs } from '../config/duration.js';
import {
  compileAnchoredRegex,
  hasPlaceholder,
  LABEL_NAME_RE,
  parseTemplate,
  type LabelMatcher,
} from './selector.js';

/** Cooldown applied when a policy has none: long enough for a scale-out to take effect. */
export const DEFAULT_COOLDOWN_MS = 300_000;

/** Target used when a policy has none; `policy validate` warns about it. */
export const DEFAULT_TARGET = { kind: 'service', name: 'default' } as const;

/**
 * Bounds of the default `trigger.maxGap`: the trigger duration clamped to [2m, 5m].
 * At least 2m so that one late or lost sample at the usual 15s–60s scrape intervals does not
 * reset a breach; at most 5m, Prometheus' lookback window, after which Prometheus itself
 * treats a series as stale; in between, equal to the duration, so a breach is never declared
 * "sustained" on fewer than about one sample per duration.
 */
export const DEFAULT_MAX_GAP_BOUNDS_MS = { min: 120_000, max: 300_000 } as const;

/** Parameter names that `scale` understands; others are forwarded but draw a warning. */
export const SCALE_PARAMETER_ALIASES = {
  amount: ['replicas', 'increment', 'by', 'step'],
  max: ['max', 'maxReplicas', 'max_replicas'],
  min: ['min', 'minReplicas', 'min_replicas'],
  /** Proportional (HPA-like) scaling: the per-replica value of the metric to aim for. */
  target: ['targetPerReplica'],
} as const;

/**
 * Metric names: Prometheus' `[a-zA-Z_:][a-zA-Z0-9_:]*`, plus `.` so OpenTelemetry-style
 * names (`http.server.duration`) can be matched as they arrive.
 */
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:.]*$/;

/** Policy names end up in logs, idempotency keys and metric labels: keep them plain. */
const POLICY_NAME_RE = /^[a-zA-Z0-9_:][a-zA-Z0-9_.:-]*$/;

const SIGNED_INT_RE = /^\s*([+-])?(\d+)\s*$/;

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

// Custom issues whose message already shows the offending value set this, so the error
// formatter does not append a redundant ", got …".
const VALUE_SHOWN = { valueShown: true } as const;

/** One label matcher as written: `"exact"`, `{ regex }`, `{ not }` or `{ notRegex }`. */
export type LabelMatcherInput = string | { regex: string } | { not: string } | { notRegex: string };

const MATCHER_FORMS = 'a string (exact match), {regex: "..."}, {not: "..."} or {notRegex: "..."}';

/**
 * Label selector: `{ label: matcher }`, all of which must hold. Compiled to `LabelMatcher[]`
 * at load so an invalid regex is a load error, not a runtime surprise.
 */
export const SelectorSchema = z
  .record(z.string(), z.custom<LabelMatcherInput>())
  .transform((raw, ctx): LabelMatcher[] => {
    const matchers: LabelMatcher[] = [];
    for (const [label, spec] of Object.entries(raw)) {
      if (!LABEL_NAME_RE.test(label) || label === '__name__') {
        ctx.addIssue({
          code: 'custom',
          path: [label],
          message:
            label === '__name__'
              ? 'select the metric with trigger.metric, not a __name__ matcher'
              : `label name ${JSON.stringify(label)} must match [a-zA-Z_][a-zA-Z0-9_]*`,
          params: VALUE_SHOWN,
        });
        continue;
      }
      if (typeof spec === 'string') {
        matchers.push({ label, op: '=', value: spec });
        continue;
      }
      const entries =
        spec !== null && typeof spec === 'object' && !Array.isArray(spec)
          ? Object.entries(spec)
          : [];
      const [form, value] = entries[0] ?? [];
      if (entries.length !== 1 || typeof value !== 'string') {
        ctx.addIssue({ code: 'custom', path: [label], message: `expected ${MATCHER_FORMS}` });
        continue;
      }
      if (form === 'not') {
        matchers.push({ label, op: '!=', value });
      } else if (form === 'regex' || form === 'notRegex') {
        const compiled = compileAnchoredRegex(value);
        if (!compiled.ok) {
          ctx.addIssue({
            code: 'custom',
            path: [label, form],
            message: `invalid regular expression (${compiled.error})`,
          });
          continue;
        }
        matchers.push({ label, op: form === 'regex' ? '=~' : '!~', value, regex: compiled.regex });
      } else {
        ctx.addIssue({ code: 'custom', path: [label], message: `expected ${MATCHER_FORMS}` });
      }
    }
    return matchers;
  });

/**
 * Lowest `trigger.predict.probability` accepted without a warning: below it the policy acts
 * when even the forecast's upper tail beyond p95 crosses the threshold, which on real data is
 * mostly noise. (0.1, "the p90 crosses", is a normal choice: forecasts of infrastructure
 * metrics are cautious about trends, see README.)
 */
export const PREDICT_PROBABILITY_WARN_BELOW = 0.05;

/** A scale-in keeps at least the forecast's median over its lead time unless told otherwise. */
export const DEFAULT_RESERVE_PROBABILITY = 0.5;

/** True when one of the actions scales proportionally (its metric is per replica, like the HPA's). */
export function scalesProportionally(
  actions: readonly {
    readonly type: string;
    readonly scale?: { readonly mode: string } | undefined;
  }[],
): boolean {
  return actions.some((a) => a.scale?.mode === 'proportional');
}

/**
 * True when a policy's reactive fires carry the load forecast until its lead time
 * (`evidence.forecastAheadPeak`, at level 1 − `reserve.probability`), below which its scale is
 * not sized: a proportional scale-in (`below`) with a lead time, predictive or not. The one rule
 * for the schema's warnings, `policy validate` and the processor.
 */
export function keepsForecastAhead(
  direction: 'above' | 'below',
  leadTimeMs: number,
  actions: readonly {
    readonly type: string;
    readonly scale?: { readonly mode: string } | undefined;
  }[],
): boolean {
  return direction === 'below' && leadTimeMs > 0 && scalesProportionally(actions);
}

/**
 * `trigger.predict.distrust`: trust is earned, distrust is learnt. Suited to proportional scaling
 * of per-replica metrics, where the judge re-expresses what follows a scale in the decision's
 * replica count; for a restart or rollback that worked, the series may fall before it closed half
 * its gap to the threshold and the fire be judged a false alarm, teaching distrust of a policy
 * that helped. Per series, the probability
 * threshold rises above `probability` when that series' judged fires (see `PredictionJudge`)
 * were needed less often than the breach probability they claimed, and comes back down as
 * fires prove needed; it never goes below `probability` (see `FireDistrust`). `distrust: {}`
 * takes the defaults, which are not fitted to any trace:
 * - `maxFactor` 2: at most twice the configured risk is asked for, so a forecast whose fires
 *   prove useless on a series still fires where it is twice as sure (at 0.35: where its p30
 *   crosses) instead of being switched off by a learner that may be wrong;
 * - `halfLifeFires` 20: about 29 fires of memory (20 / ln 2), enough for a needed rate of
 *   about 0.4 to be known within ±0.09 (one standard error), and still a day or two of an
 *   hourly-firing series;
 * - `priorFires` 10: a new series starts as if 10 fires had been needed as often as claimed,
 *   so 3 false alarms in a row at 0.35 raise its threshold by about 30 %, not to the bound.
 */
export const DistrustSchema = z.strictObject({
  /** Judged fires after which a verdict weighs half (forgetting), > 0. */
  halfLifeFires: z.number().positive().default(20),
  /** Weight of the prior (fires needed exactly as often as claimed), in fires, >= 0. */
  priorFires: z.number().nonnegative().default(10),
  /** The threshold stays within [probability, probability × maxFactor] and at most 1; >= 1. */
  maxFactor: z.number().min(1).default(2),
});

/** Validated `trigger.predict.distrust` settings. */
export type DistrustSettings = z.output<typeof DistrustSchema>;

/** The highest threshold distrust may raise `probability` to: `probability × maxFactor`, at most 1. */
export function distrustCeiling(probability: number, maxFactor: number): number {
  return Math.min(1, probability * maxFactor);
}

/**
 * `trigger.predict`: act on a forecast breach. The policy fires ahead of the breach when the
 * forecast puts the probability of crossing the threshold within `horizon` at `probability`
 * or more, and the expected breach is near enough that the target needs to start now to be
 * ready (`leadTime`, on the policy). `trigger.duration` applies to actual breaches only: a
 * quantile forecast says how likely each future step is to breach, not how long a breach
 * would last.
 */
export const PredictSchema = z
  .strictObject({
    /** How far ahead to look; the model's own horizon may be shorter and then limits it. */
    horizon: DurationMs,
    /** Minimum probability, in (0, 1], of a breach within the horizon. */
    probability: z.number(),
    /** Raise `probability` per series whose fires prove unneeded (optional, see the schema). */
    distrust: DistrustSchema.optional(),
  })
  .transform((p, ctx) => {
    if (p.horizon <= 0) {
      // No digits in the message, so the error formatter appends the value as written.
      ctx.addIssue({ code: 'custom', path: ['horizon'], message: 'must be longer than zero' });
    }
    if (!(p.probability > 0 && p.probability <= 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['probability'],
        message: `must be a probability greater than 0 and at most 1 (e.g. 0.8), got ${show(p.probability)}`,
        params: VALUE_SHOWN,
      });
    }
    return {
      /** Milliseconds ahead that a forecast breach may trigger the policy; > 0. */
      horizonMs: p.horizon,
      /** Fire when P(breach within the horizon) >= this; in (0, 1]. */
      probability: p.probability,
      /** Per-series threshold raised by unneeded fires; `undefined`: the fixed `probability`. */
      distrust: p.distrust,
    };
  });

/** The normalised `trigger.predict`. */
export type PredictSpec = z.output<typeof PredictSchema>;

/**
 * `reserve`, on a proportional scale-in with a `leadTime`: how much of the forecast's upper
 * tail the scale-in keeps. It is not sized below the load that, at some step before released
 * capacity could be back (the lead time), the forecast gives this probability of exceeding —
 * the forecast at level 1 − probability. The same risk a predictive scale-out takes with
 * `trigger.predict.probability`, taken in the other direction. Absent: 0.5 (the median, the
 * load expected).
 */
export const ReserveSchema = z
  .strictObject({
    /** Accepted chance, in (0, 1), that the load exceeds what the scale-in keeps. */
    probability: z.number(),
  })
  .transform((r, ctx) => {
    if (!(r.probability > 0 && r.probability < 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['probability'],
        message: `must be a probability greater than 0 and less than 1 (e.g. 0.3), got ${show(r.probability)}`,
        params: VALUE_SHOWN,
      });
    }
    return { probability: r.probability };
  });

/**
 * Trigger: the condition on one metric. `direction` (`above`, default, or `below`) and
 * `operator` (`>`, `>=`, `<`, `<=`) are two spellings of the same thing; give at most one.
 * `direction` is strict, like the seed's "> 80".
 */
export const TriggerSchema = z
  .strictObject({
    /** Metric name, exactly as the ingest stage emits it. */
    metric: z.string().regex(METRIC_NAME_RE, 'must be a metric name like "cpu_utilization"'),
    /** Label matchers restricting which series of `metric` the policy watches. */
    selector: SelectorSchema.optional(),
    /** Threshold in the metric's own unit. */
    threshold: z.number(),
    direction: z.enum(['above', 'below']).optional(),
    operator: z.enum(['>', '>=', '<', '<=']).optional(),
    /** How long the condition must hold; `0` fires on the first breaching sample. */
    duration: DurationMs,
    /** A gap between breaching samples longer than this resets the breach. */
    maxGap: DurationMs.optional(),
    /** Also act on forecast breaches (see `PredictSchema`). */
    predict: PredictSchema.optional(),
  })
  .transform((t, ctx) => {
    if (t.direction !== undefined && t.operator !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['operator'],
        message: `give either direction or operator, not both (direction is ${JSON.stringify(t.direction)})`,
      });
    }
    if (t.maxGap !== undefined && t.maxGap <= 0) {
      ctx.addIssue({ code: 'custom', path: ['maxGap'], message: 'must be greater than 0' });
    }
    const direction: 'above' | 'below' =
      t.operator === undefined
        ? (t.direction ?? 'above')
        : t.operator.startsWith('>')
          ? 'above'
          : 'below';
    return {
      metric: t.metric,
      /** Compiled matchers; empty means every series of `metric`. */
      selector: t.selector ?? [],
      /** Threshold, in the metric's unit. */
      threshold: t.threshold,
      /** `above`: breach when value > threshold (>= if inclusive); `below`: the mirror. */
      direction,
      /** True for `>=` / `<=`: a value equal to the threshold breaches. */
      inclusive: t.operator === '>=' || t.operator === '<=',
      /** Milliseconds the breach must last before the policy fires; 0 = first sample. */
      durationMs: t.duration,
      /** Milliseconds: a longer gap between breaching samples resets the breach. */
      maxGapMs:
        t.maxGap ??
        Math.min(
          Math.max(t.duration, DEFAULT_MAX_GAP_BOUNDS_MS.min),
          DEFAULT_MAX_GAP_BOUNDS_MS.max,
        ),
      /** Predictive triggering; `undefined` for a purely reactive policy. */
      predict: t.predict,
    };
  });

const TemplateSchema = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const parsed = parseTemplate(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `invalid template: ${parsed.error}` });
  });

/**
 * What the actions act on. `name` and `namespace` may contain `{{label}}` placeholders,
 * filled from the firing series' labels (see `renderTemplate`).
 */
export const TargetSchema = z.strictObject({
  /** Kind of thing acted on, interpreted by executors (`service`, `deployment`, …). */
  kind: z.string().min(1).default('service'),
  name: TemplateSchema,
  namespace: TemplateSchema.optional(),
});

/** The service a deployment gate watches when it names none: the series' `service` label. */
export const DEFAULT_DEPLOYMENT_SERVICE = '{{service}}';

/**
 * `deployment`: act only inside the watch window of a deployment (automatic rollbacks). The
 * policy fires — reactively or predictively — only while the latest deployment of `service`
 * (a template filled from the firing series' labels) is at most `window` old at the sample's
 * event time, and a reactive breach counts only from the deployment on: it must have lasted
 * `trigger.duration` inside the window. Deployments come from the worker's deployments topic.
 */
export const DeploymentGateSchema = z
  .strictObject({
    /** How long after a deployment its breaches are blamed on it. */
    window: DurationMs.refine((ms) => ms > 0, 'must be longer than zero'),
    /** The deployed service, as named on the deployments topic; default `{{service}}`. */
    service: TemplateSchema.optional(),
  })
  .transform((gate) => ({
    /** Milliseconds after a deployment during which the policy may fire; > 0. */
    windowMs: gate.window,
    /** Template of the deployed service's name, `{{label}}` placeholders unrendered. */
    serviceTemplate: gate.service ?? DEFAULT_DEPLOYMENT_SERVICE,
  }));

/** The normalised `deployment` gate. */
export type DeploymentGate = z.output<typeof DeploymentGateSchema>;

/** Free-form action parameters, forwarded verbatim to executors. */
const ParametersSchema = z.record(z.string(), z.unknown());

/**
 * A scale request reduced from the accepted spellings (`replicas: "+2"`, `increment: 2`,
 * `by: 2`, `step: 2`, with `max`/`maxReplicas`/`max_replicas` and the `min` mirror).
 * `relative`: change the replica count by `replicas` (non-zero, may be negative);
 * `absolute`: set it to `replicas` (>= 0); `proportional` (`targetPerReplica: 70`): the
 * Kubernetes HPA's rule, desired = ceil(current × value / targetPerReplica), where value is
 * the per-replica metric that fired (the observed value; for a predictive fire the forecast
 * at level 1 − the policy's probability at the breach step; for a `below` breach the highest
 * value seen during the breach — `evidence.breachPeak`, like the HPA's highest recommendation
 * over its scale-down window — and not below the forecast until the policy's lead time, so one
 * quiet sample does not undersize a scale-in; see `scaleMetricValue`); `replicas` is 0
 * then. A threshold trigger
 * needs a metric whose threshold means the same at every replica count, so the metric is a
 * per-replica average (utilisation, requests per replica), as for the HPA. Executors clamp
 * the result into [`minReplicas`, `maxReplicas`] when given.
 */
export interface ScaleSpec {
  readonly mode: 'relative' | 'absolute' | 'proportional';
  readonly replicas: number;
  /** `proportional` only: the per-replica metric value to aim for (> 0). */
  readonly targetPerReplica?: number;
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
}

type Ctx = z.core.$RefinementCtx;

/** Finds the one alias of `keys` present in `params`; reports a conflict when several are. */
function pickAlias(
  params: Record<string, unknown>,
  keys: readonly string[],
  what: string,
  ctx: Ctx,
): { key: string; value: unknown } | undefined | null {
  const present = keys.filter((key) => Object.hasOwn(params, key) && params[key] !== undefined);
  const [first, second] = present;
  if (first === undefined) return undefined;
  if (second !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', second],
      message: `conflicts with parameters.${first}: give the ${what} only once`,
      params: VALUE_SHOWN,
    });
    return null;
  }
  return { key: first, value: params[first] };
}

function bound(params: Record<string, unknown>, keys: readonly string[], what: string, ctx: Ctx) {
  const picked = pickAlias(params, keys, what, ctx);
  if (picked === null) return { ok: false as const };
  if (picked === undefined) return { ok: true as const };
  if (typeof picked.value !== 'number' || !Number.isInteger(picked.value) || picked.value < 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', picked.key],
      message: 'expected a non-negative integer',
    });
    return { ok: false as const };
  }
  return { ok: true as const, key: picked.key, value: picked.value };
}

/** Parses the amount alias into mode and count; `undefined` after reporting a problem. */
function scaleAmount(
  amount: { key: string; value: unknown },
  ctx: Ctx,
): { mode: 'relative' | 'absolute'; replicas: number } | undefined {
  const path = ['parameters', amount.key];
  const isReplicas = amount.key === 'replicas';
  const text = typeof amount.value === 'string' ? SIGNED_INT_RE.exec(amount.value) : null;
  let parsed: { mode: 'relative' | 'absolute'; replicas: number };
  if (typeof amount.value === 'number' && Number.isInteger(amount.value)) {
    // A bare number in `replicas` is a target count; the other aliases name a step.
    parsed = { mode: isReplicas ? 'absolute' : 'relative', replicas: amount.value };
  } else if (text !== null) {
    parsed = {
      mode: isReplicas && text[1] === undefined ? 'absolute' : 'relative',
      replicas: Number(`${text[1] ?? ''}${text[2] ?? ''}`),
    };
  } else {
    ctx.addIssue({
      code: 'custom',
      path,
      message: isReplicas
        ? 'expected an integer (absolute count) or a signed string like "+2" (relative)'
        : 'expected a non-zero integer',
    });
    return undefined;
  }
  if (parsed.mode === 'relative' && parsed.replicas === 0) {
    ctx.addIssue({ code: 'custom', path, message: 'a relative scale must be non-zero' });
    return undefined;
  }
  if (parsed.mode === 'absolute' && parsed.replicas < 0) {
    ctx.addIssue({
      code: 'custom',
      path,
      message:
        'an absolute replica count must be >= 0 (for a relative change write "-2" as a string)',
    });
    return undefined;
  }
  return parsed;
}

/**
 * `targetPerReplica` of a proportional scale: a positive number, not combined with an amount.
 * `undefined` when absent, `null` after reporting a problem.
 */
function proportionalTarget(
  params: Record<string, unknown>,
  amount: { key: string } | undefined | null,
  ctx: Ctx,
): number | undefined | null {
  const key = SCALE_PARAMETER_ALIASES.target[0];
  const value = params[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', key],
      message: 'expected a positive number (the per-replica metric value to aim for)',
    });
    return null;
  }
  if (amount !== undefined && amount !== null) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', key],
      message: `conflicts with parameters.${amount.key}: a scale is either proportional (targetPerReplica) or a replica count`,
      params: VALUE_SHOWN,
    });
    return null;
  }
  return value;
}

/** Reduces scale parameter aliases to a `ScaleSpec`, reporting every problem on `ctx`. */
function normaliseScale(params: Record<string, unknown>, ctx: Ctx): ScaleSpec | undefined {
  const picked = pickAlias(params, SCALE_PARAMETER_ALIASES.amount, 'scale amount', ctx);
  const max = bound(params, SCALE_PARAMETER_ALIASES.max, 'maximum', ctx);
  const min = bound(params, SCALE_PARAMETER_ALIASES.min, 'minimum', ctx);
  const target = proportionalTarget(params, picked, ctx);
  if (target === null) return undefined;
  if (picked === undefined && target === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters'],
      message:
        'scale needs replicas ("+2"/"-1" relative, 5 absolute), increment/by/step (relative) or targetPerReplica (proportional)',
    });
  }
  const amount =
    target !== undefined
      ? { mode: 'proportional' as const, replicas: 0, targetPerReplica: target }
      : picked
        ? scaleAmount(picked, ctx)
        : undefined;
  let boundsOk = max.ok && min.ok;
  if (min.value !== undefined && max.value !== undefined && min.value > max.value) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', max.key ?? 'max'],
      message: `maximum ${max.value} is below minimum ${min.value} (parameters.${min.key ?? 'min'})`,
      params: VALUE_SHOWN,
    });
    boundsOk = false;
  }
  if (amount === undefined || picked === null || !boundsOk) return undefined;
  if (
    picked !== undefined &&
    amount.mode === 'absolute' &&
    ((max.value !== undefined && amount.replicas > max.value) ||
      (min.value !== undefined && amount.replicas < min.value))
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameters', picked.key],
      message: `absolute replica count ${amount.replicas} is outside [${min.value ?? 0}, ${max.value ?? '∞'}]`,
      params: VALUE_SHOWN,
    });
    return undefined;
  }
  return {
    ...amount,
    ...(min.value === undefined ? {} : { minReplicas: min.value }),
    ...(max.value === undefined ? {} : { maxReplicas: max.value }),
  };
}

/** `scale`: change the replica count; `parameters` is required (it carries the amount). */
export const ScaleActionSchema = z
  .strictObject({ type: z.literal('scale'), parameters: ParametersSchema })
  .transform((action, ctx) => {
    const scale = normaliseScale(action.parameters, ctx);
    if (scale === undefined) return z.NEVER;
    return {
      type: action.type,
      /** Normalised amount and bounds; use this, not `parameters`, to compute replicas. */
      scale,
      /** The parameters exactly as written, forwarded to executors. */
      parameters: action.parameters,
    };
  });

/** `restart`: restart the target; parameters (e.g. `{ strategy: 'rolling' }`) are optional. */
export const RestartActionSchema = z
  .strictObject({ type: z.literal('restart'), parameters: ParametersSchema.optional() })
  .transform((action) => ({ type: action.type, parameters: action.parameters ?? {} }));

/** `rollback`: roll the target back; `parameters.toRevision`, if given, is an integer >= 0. */
export const RollbackActionSchema = z
  .strictObject({ type: z.literal('rollback'), parameters: ParametersSchema.optional() })
  .transform((action, ctx) => {
    const parameters = action.parameters ?? {};
    const toRevision = parameters['toRevision'];
    if (
      toRevision !== undefined &&
      (typeof toRevision !== 'number' || !Number.isInteger(toRevision) || toRevision < 0)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['parameters', 'toRevision'],
        message: 'expected a non-negative integer revision',
      });
    }
    return { type: action.type, parameters };
  });

/** One action, discriminated by `type`. */
export const ActionSchema = z.discriminatedUnion('type', [
  ScaleActionSchema,
  RestartActionSchema,
  RollbackActionSchema,
]);

/**
 * Metric a probe publishes its consecutive-failure count under (labels `probe`, `target`); a
 * probe policy's trigger watches it. Lives here, not in src/probe, because the schema builds
 * the trigger from it and src/probe depends on the schema, not the other way round.
 */
export const PROBE_FAILURES_METRIC = 'healcast_probe_consecutive_failures';

/** Metric a probe publishes its last result under: 1 success, 0 failure (labels as above). */
export const PROBE_SUCCESS_METRIC = 'healcast_probe_success';

/**
 * A probe's defaults: the kubelet's for a liveness probe (no initial delay, every 10s, 1s
 * timeout, restart after 3 consecutive failures), so a copied Kubernetes probe means the same.
 */
export const PROBE_DEFAULTS = {
  initialDelayMs: 0,
  periodMs: 10_000,
  timeoutMs: 1_000,
  failureThreshold: 3,
} as const;

/** `probe.httpGet`: the request, as in a Kubernetes `httpGet` probe (named ports aside). */
export const HttpGetSchema = z
  .strictObject({
    /** Request path; default `/`. */
    path: z.string().startsWith('/', 'must start with "/"').optional(),
    port: z.number().int().min(1).max(65_535),
    /** Host name or address; default 127.0.0.1 (the kubelet's default is the pod's IP). */
    host: z
      .string()
      .regex(/^[^\s/]+$/, 'must be a host name or address, not a URL (no scheme, no path)')
      .optional(),
    /** `http` (default) or `https`; Kubernetes' upper-case spelling is accepted too. */
    scheme: z.enum(['http', 'https', 'HTTP', 'HTTPS']).optional(),
  })
  .transform((get) => ({
    scheme:
      get.scheme === undefined ? ('http' as const) : (get.scheme.toLowerCase() as 'http' | 'https'),
    host: get.host ?? '127.0.0.1',
    port: get.port,
    path: get.path ?? '/',
  }));

/** The normalised `probe.httpGet`. */
export type HttpGetSpec = z.output<typeof HttpGetSchema>;

/**
 * `probe`: a liveness check in place of a metric trigger. healcast runs an HTTP GET every
 * `period` (after `initialDelay`); a status 200–399 within `timeout` is a success, anything
 * else a failure. `failureThreshold` consecutive failures fire the policy, after which the
 * count starts over and the initial delay applies again, as the kubelet does after it
 * restarts a container. Durations take units (`"10s"`) rather than Kubernetes' `…Seconds`.
 */
export const ProbeSchema = z
  .strictObject({
    httpGet: HttpGetSchema,
    initialDelay: DurationMs.optional(),
    period: DurationMs.optional(),
    timeout: DurationMs.optional(),
    failureThreshold: z.number().int().min(1).optional(),
  })
  .transform((probe, ctx) => {
    for (const key of ['period', 'timeout'] as const) {
      if (probe[key] === 0) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be longer than zero' });
      }
    }
    return {
      httpGet: probe.httpGet,
      /** Milliseconds from start (and from each restart) to the first probe; >= 0. */
      initialDelayMs: probe.initialDelay ?? PROBE_DEFAULTS.initialDelayMs,
      /** Milliseconds between probes; > 0. */
      periodMs: probe.period ?? PROBE_DEFAULTS.periodMs,
      /** Milliseconds a probe may take before it counts as failed; > 0. */
      timeoutMs: probe.timeout ?? PROBE_DEFAULTS.timeoutMs,
      /** Consecutive failures that fire the policy; >= 1. */
      failureThreshold: probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
    };
  });

/** The normalised `probe`, durations in milliseconds. */
export type ProbeSpec = z.output<typeof ProbeSchema>;

/**
 * The trigger of a policy: its own, or for a probe policy the one its probe stands for —
 * `healcast_probe_consecutive_failures{probe="<name>"} >= failureThreshold`, at once — so
 * the rest of the pipeline treats both alike. Exactly one of `trigger` and `probe` must be
 * given; `undefined` after reporting a problem.
 */
function resolveTrigger(
  policy: {
    name?: string | undefined;
    trigger?: z.output<typeof TriggerSchema> | undefined;
    probe?: ProbeSpec | undefined;
    target?: z.output<typeof TargetSchema> | undefined;
  },
  ctx: Ctx,
): z.output<typeof TriggerSchema> | undefined {
  const { trigger, probe } = policy;
  if (trigger !== undefined && probe !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['probe'],
      message: 'give either trigger or probe, not both (a probe policy fires on its probe alone)',
      params: VALUE_SHOWN,
    });
    return undefined;
  }
  if (probe === undefined) {
    if (trigger === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['trigger'],
        message: 'missing: give a trigger (a metric condition) or a probe (an HTTP liveness check)',
      });
    }
    return trigger;
  }
  let ok = true;
  if (policy.name === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['name'],
      message: 'missing: a probe policy needs a name, which labels its metrics (probe="<name>")',
    });
    ok = false;
  }
  // The probe checks one endpoint, so there are no series labels to fill placeholders from.
  for (const key of ['name', 'namespace'] as const) {
    if (hasPlaceholder(policy.target?.[key])) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', key],
        message: 'a probe policy acts on one fixed target: {{label}} placeholders are not allowed',
      });
      ok = false;
    }
  }
  if (!ok || policy.name === undefined) return undefined;
  // Cannot fail: every field is a valid constant or was validated above.
  return TriggerSchema.parse({
    metric: PROBE_FAILURES_METRIC,
    selector: { probe: policy.name },
    threshold: probe.failureThreshold,
    operator: '>=',
    duration: 0,
  });
}

/**
 * One healing policy. The output adds `name` (derived as `<metric>_<direction>_<threshold>`
 * when absent), `cooldownMs` (default 5m; the cooldown applies per policy and rendered
 * target, so one noisy service does not silence the policy for the others) and `warnings`
 * (things that load but are probably not what the author meant).
 */
export const HealingPolicySchema = z
  .strictObject({
    /** Unique within a file. */
    name: z
      .string()
      .max(128)
      .regex(POLICY_NAME_RE, 'must be letters, digits and _ . : - (not starting with . or -)')
      .optional(),
    /** Free text for humans. */
    description: z.string().optional(),
    /** A disabled policy is loaded and validated but never fires. */
    enabled: z.boolean().default(true),
    /** The metric condition; exactly one of `trigger` and `probe`. */
    trigger: TriggerSchema.optional(),
    /** A liveness probe instead of a metric condition (see `ProbeSchema`). */
    probe: ProbeSchema.optional(),
    target: TargetSchema.optional(),
    actions: z.array(ActionSchema).min(1),
    /** Quiet period after the policy fired for a target. */
    cooldown: DurationMs.optional(),
    /**
     * How long the target needs after an action before it helps (e.g. a pod's start-up):
     * a predictive fire comes at least this long before the expected breach. Default 0.
     */
    leadTime: DurationMs.optional(),
    /** A proportional scale-in's reserve for the forecast's upper tail (see `ReserveSchema`). */
    reserve: ReserveSchema.optional(),
    /**
     * Dry run for predictive fires: record (log, count) what the policy would have done ahead
     * of a breach without enqueuing the actions. Reactive fires are unaffected. Default false.
     */
    forecastOnly: z.boolean().optional(),
    /** Fire only within a window after a deployment of the series' service (see the schema). */
    deployment: DeploymentGateSchema.optional(),
  })
  .transform((policy, ctx) => {
    const warnings: string[] = [];
    const trigger = resolveTrigger(policy, ctx);
    if (trigger === undefined) return z.NEVER;
    const { predict } = trigger;
    const { probe } = policy;
    const leadTimeMs = policy.leadTime ?? 0;
    if (policy.target === undefined) {
      warnings.push(
        `target: none given, so actions go to ${DEFAULT_TARGET.kind} "${DEFAULT_TARGET.name}"; set target.name (it may use {{label}} placeholders)`,
      );
    }
    const cooldownMs = policy.cooldown ?? DEFAULT_COOLDOWN_MS;
    for (const [path, ms] of [
      ['trigger.duration', trigger.durationMs],
      ['cooldown', cooldownMs],
      ['trigger.predict.horizon', predict?.horizonMs ?? 0],
      ['leadTime', leadTimeMs],
      ['probe.initialDelay', probe?.initialDelayMs ?? 0],
      ['probe.period', probe?.periodMs ?? 0],
      ['probe.timeout', probe?.timeoutMs ?? 0],
    ] as const) {
      if (ms > 0 && ms < 1000) {
        warnings.push(
          `${path}: ${ms}ms is very short; a bare number means milliseconds (did you mean "${ms}s"?)`,
        );
      }
    }
    if (probe !== undefined && probe.timeoutMs >= probe.periodMs) {
      warnings.push(
        `probe.timeout: ${formatDurationMs(probe.timeoutMs)} is not shorter than probe.period ${formatDurationMs(probe.periodMs)}, so a hanging endpoint delays the next probe`,
      );
    }
    if (cooldownMs === 0) {
      warnings.push('cooldown: 0, so the policy fires again on every qualifying sample');
    }
    // A scale-in's lead time is how long released capacity takes to come back: its fires
    // carry the load forecast until then, which a proportional scale is not sized below.
    const keepsAhead = keepsForecastAhead(trigger.direction, leadTimeMs, policy.actions);
    if (policy.reserve !== undefined && !keepsAhead) {
      warnings.push(
        'reserve: has no effect here (it applies to a proportional scale-in with a leadTime)',
      );
    }
    if (predict === undefined) {
      if (policy.leadTime !== undefined && !keepsAhead) {
        warnings.push('leadTime: has no effect without trigger.predict');
      }
      if (policy.forecastOnly === true) {
        warnings.push(
          'forecastOnly: has no effect without trigger.predict (it applies to predictive fires only)',
        );
      }
    } else {
      if (leadTimeMs > predict.horizonMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['leadTime'],
          message:
            `lead time ${formatDurationMs(leadTimeMs)} is longer than trigger.predict.horizon ` +
            `${formatDurationMs(predict.horizonMs)}: a breach would be foreseen too late to have the ` +
            'target ready; lengthen the horizon or shorten the lead time',
          params: VALUE_SHOWN,
        });
      }
      if (predict.probability < PREDICT_PROBABILITY_WARN_BELOW) {
        warnings.push(
          `trigger.predict.probability: ${predict.probability} acts when only the far upper tail of the forecast crosses the threshold; expect false alarms`,
        );
      }
      const { distrust } = predict;
      if (
        distrust !== undefined &&
        distrustCeiling(predict.probability, distrust.maxFactor) <= predict.probability
      ) {
        // The threshold may only rise, up to min(1, probability × maxFactor): no room, no effect.
        warnings.push(
          `trigger.predict.distrust: has no effect (${distrust.maxFactor === 1 ? 'maxFactor 1' : `probability ${predict.probability}`} leaves the threshold no room to rise)`,
        );
      }
      if (cooldownMs < leadTimeMs) {
        // The cooldown is what keeps the reactive path quiet while a predictive action is
        // still taking effect; shorter than the lead time, both may act on one breach.
        warnings.push(
          `cooldown: ${formatDurationMs(cooldownMs)} is shorter than leadTime ${formatDurationMs(leadTimeMs)}, so the policy may act again before its first action has taken effect`,
        );
      }
    }
    const gate = policy.deployment;
    if (gate !== undefined && trigger.durationMs > gate.windowMs) {
      warnings.push(
        `deployment.window: ${formatDurationMs(gate.windowMs)} is shorter than trigger.duration ${formatDurationMs(trigger.durationMs)}, so no breach can last long enough inside it: the policy ${predict === undefined ? 'can never fire' : 'can only fire predictively'}`,
      );
    }
    policy.actions.forEach((action, index) => {
      if (action.type !== 'scale') return;
      const known: readonly string[] = Object.values(SCALE_PARAMETER_ALIASES).flat();
      for (const key of Object.keys(action.parameters)) {
        if (!known.includes(key)) {
          warnings.push(
            `actions[${index}].parameters.${key}: not a scale parameter; forwarded to the executor unchanged`,
          );
        }
      }
      const { scale } = action;
      if (scale.mode === 'relative' && scale.replicas > 0 && scale.maxReplicas === undefined) {
        warnings.push(
          `actions[${index}]: scale +${scale.replicas} has no maximum, so repeated firing can scale without bound`,
        );
      }
    });
    return {
      /** Unique name within its file; derived from the trigger when not given. */
      name: policy.name ?? `${trigger.metric}_${trigger.direction}_${trigger.threshold}`,
      ...(policy.description === undefined ? {} : { description: policy.description }),
      enabled: policy.enabled,
      trigger,
      /** Target with `{{label}}` templates still unrendered. */
      target: policy.target ?? { ...DEFAULT_TARGET },
      /** At least one; executed in order. */
      actions: policy.actions,
      /** Milliseconds after firing for a target before the policy may fire for it again. */
      cooldownMs,
      /**
       * Milliseconds the target needs to be ready after an action (>= 0, <= the predict
       * horizon); a predictive fire happens when the expected breach is this close (plus one
       * step). 0 for reactive policies.
       */
      leadTimeMs,
      /**
       * Proportional scale-in: accepted chance that the load exceeds what it keeps before the
       * lead time is over (the forecast at level 1 − this bounds its size). Default 0.5.
       */
      reserveProbability: policy.reserve?.probability ?? DEFAULT_RESERVE_PROBABILITY,
      /** True: predictive fires are recorded but their actions not enqueued (dry run). */
      forecastOnly: policy.forecastOnly ?? false,
      /** Present: the policy fires only inside a deployment's watch window. */
      ...(gate === undefined ? {} : { deployment: gate }),
      /** The liveness probe of a probe policy (its `trigger` is derived from it); else undefined. */
      probe,
      /** Human-readable notes about suspicious but valid settings, each prefixed by its path. */
      warnings,
    };
  });

/** A policy as written (the seed's `HealingPolicy` is assignable to it). */
export type HealingPolicy = z.input<typeof HealingPolicySchema>;

/** A normalised policy, ready for evaluation. */
export type Policy = z.output<typeof HealingPolicySchema>;

/** A normalised action. */
export type PolicyAction = Policy['actions'][number];

/** A normalised trigger. */
export type PolicyTrigger = Policy['trigger'];

/** A target with its templates unrendered. */
export type PolicyTarget = Policy['target'];

/** The wrapped file form: `{ version?: 1, policies: [...] }`. */
export const PolicyDocumentSchema = z.strictObject({
  version: z.literal(1).optional(),
  policies: z.array(z.unknown()),
});

/** A policy file as written: one policy, an array of policies, or `{ version?, policies }`. */
export type PolicyFile =
  HealingPolicy | HealingPolicy[] | { version?: 1; policies: HealingPolicy[] };

const FILE_FORMS = 'a policy, a list of policies, or {policies: [...]}';

/**
 * A whole policy file, parsed to `Policy[]`. Every policy is parsed even when an earlier one
 * is invalid, so one run reports every problem; names must be unique within the file.
 */
export const PolicyFileSchema = z.unknown().transform((input, ctx): Policy[] => {
  let items: unknown[];
  let prefix: (string | number)[];
  if (Array.isArray(input)) {
    items = input;
    prefix = [];
  } else if (input !== null && typeof input === 'object' && Object.hasOwn(input, 'policies')) {
    const doc = PolicyDocumentSchema.safeParse(input);
    if (!doc.success) {
      for (const issue of doc.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    items = doc.data.policies;
    prefix = ['policies'];
  } else if (input !== null && typeof input === 'object') {
    items = [input];
    prefix = [];
  } else {
    ctx.addIssue({
      code: 'custom',
      message:
        input === null || input === undefined
          ? `the file is empty; expected ${FILE_FORMS}`
          : `expected ${FILE_FORMS}, got ${show(input)}`,
      params: VALUE_SHOWN,
    });
    return z.NEVER;
  }
  if (items.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: prefix,
      message: 'no policies: expected at least one',
      params: VALUE_SHOWN,
    });
    return z.NEVER;
  }
  const single = !Array.isArray(input) && prefix.length === 0;
  const policies: Policy[] = [];
  const firstIndexByName = new Map<string, number>();
  items.forEach((item, index) => {
    const at = single ? prefix : [...prefix, index];
    const result = HealingPolicySchema.safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ ...issue, path: [...at, ...issue.path] });
      }
      return;
    }
    const policy = result.data;
    const earlier = firstIndexByName.get(policy.name);
    if (earlier !== undefined) {
      const where = [...prefix, earlier]
        .map((segment) => (typeof segment === 'number' ? `[${segment}]` : segment))
        .join('');
      const explicit =
        item !== null && typeof item === 'object' && Object.hasOwn(item, 'name')
          ? ''
          : ' (derived from the trigger; set a distinct name)';
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'name'],
        message: `duplicate policy name ${JSON.stringify(policy.name)}${explicit}, also used by ${where}`,
        params: VALUE_SHOWN,
      });
      return;
    }
    firstIndexByName.set(policy.name, index);
    policies.push(policy);
  });
  return policies;
});
