import { describe, expect, it } from 'vitest';
import {
  HealingPolicySchema,
  PolicyFileSchema,
  type HealingPolicy,
  type Policy,
  type ScaleSpec,
} from '../../../src/policy/schema.js';

/** The product's seed interface, verbatim: it must stay assignable to our input type. */
interface SeedHealingPolicy {
  trigger: { metric: string; threshold: number; duration: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the seed's own declaration
  actions: Array<{ type: 'scale' | 'restart' | 'rollback'; parameters: Record<string, any> }>;
  cooldown: string;
}

function seedWith(parameters: Record<string, unknown>): SeedHealingPolicy {
  return {
    trigger: { metric: 'cpu_utilization', threshold: 80, duration: '5m' },
    actions: [{ type: 'scale', parameters }],
    cooldown: '10m',
  };
}

function parse(input: unknown): Policy {
  const result = HealingPolicySchema.safeParse(input);
  if (!result.success) throw new Error(JSON.stringify(result.error.issues));
  return result.data;
}

function issuePaths(input: unknown): string[] {
  const result = PolicyFileSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

const policy = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  trigger: { metric: 'cpu_utilization', threshold: 80, duration: '5m' },
  actions: [{ type: 'restart' }],
  target: { name: 'api' },
  ...overrides,
});

describe('the seed example', () => {
  const seedScale: ScaleSpec = { mode: 'relative', replicas: 2, maxReplicas: 10 };
  it.each([
    { spelling: 'replicas "+2", max', parameters: { replicas: '+2', max: 10 } },
    { spelling: 'increment, maxReplicas', parameters: { increment: 2, maxReplicas: 10 } },
    { spelling: 'by, max', parameters: { by: 2, max: 10 } },
    { spelling: 'step, max_replicas', parameters: { step: 2, max_replicas: 10 } },
  ])('loads with $spelling', ({ parameters }) => {
    const seed = seedWith(parameters);
    const input: HealingPolicy = seed; // compile-time check: the seed type is accepted as is
    const out = parse(input);
    expect(out).toMatchObject({
      name: 'cpu_utilization_above_80',
      enabled: true,
      trigger: {
        metric: 'cpu_utilization',
        selector: [],
        threshold: 80,
        direction: 'above',
        inclusive: false,
        durationMs: 300_000,
        maxGapMs: 300_000,
      },
      target: { kind: 'service', name: 'default' },
      cooldownMs: 600_000,
    });
    expect(out.actions).toEqual([{ type: 'scale', scale: seedScale, parameters }]);
    expect(out.warnings.some((w) => w.startsWith('target:'))).toBe(true);
  });
});

describe('trigger', () => {
  it.each([
    { trigger: {}, direction: 'above', inclusive: false },
    { trigger: { direction: 'above' }, direction: 'above', inclusive: false },
    { trigger: { direction: 'below' }, direction: 'below', inclusive: false },
    { trigger: { operator: '>' }, direction: 'above', inclusive: false },
    { trigger: { operator: '>=' }, direction: 'above', inclusive: true },
    { trigger: { operator: '<' }, direction: 'below', inclusive: false },
    { trigger: { operator: '<=' }, direction: 'below', inclusive: true },
  ])('$trigger → $direction inclusive=$inclusive', ({ trigger, direction, inclusive }) => {
    const out = parse(
      policy({ trigger: { metric: 'm', threshold: 1, duration: '1m', ...trigger } }),
    );
    expect(out.trigger).toMatchObject({ direction, inclusive });
  });

  it.each([
    { duration: 0, maxGap: undefined, want: 120_000 },
    { duration: '1m', maxGap: undefined, want: 120_000 },
    { duration: '3m', maxGap: undefined, want: 180_000 },
    { duration: '5m', maxGap: undefined, want: 300_000 },
    { duration: '1h', maxGap: undefined, want: 300_000 },
    { duration: '1h', maxGap: '30s', want: 30_000 },
    { duration: '1m', maxGap: 90_000, want: 90_000 },
  ])('duration $duration, maxGap $maxGap → maxGapMs $want', ({ duration, maxGap, want }) => {
    const trigger = {
      metric: 'm',
      threshold: 1,
      duration,
      ...(maxGap === undefined ? {} : { maxGap }),
    };
    const out = parse(policy({ trigger }));
    expect(out.trigger.maxGapMs).toBe(want);
  });

  it('duration 0 means the first breaching sample', () => {
    expect(
      parse(policy({ trigger: { metric: 'm', threshold: 1, duration: 0 } })).trigger.durationMs,
    ).toBe(0);
  });

  it('compiles every selector form', () => {
    const out = parse(
      policy({
        trigger: {
          metric: 'm',
          threshold: 1,
          duration: '1m',
          selector: { a: 'x', b: { regex: 'api-.*' }, c: { not: 'dev' }, d: { notRegex: 'tmp.*' } },
        },
      }),
    );
    expect(out.trigger.selector.map(({ label, op, value }) => ({ label, op, value }))).toEqual([
      { label: 'a', op: '=', value: 'x' },
      { label: 'b', op: '=~', value: 'api-.*' },
      { label: 'c', op: '!=', value: 'dev' },
      { label: 'd', op: '!~', value: 'tmp.*' },
    ]);
  });

  it('derives the name from metric, direction and threshold', () => {
    const out = parse(
      policy({ trigger: { metric: 'up', threshold: 1, duration: '1m', direction: 'below' } }),
    );
    expect(out.name).toBe('up_below_1');
  });
});

describe('actions', () => {
  it.each<{ parameters: Record<string, unknown>; scale: ScaleSpec }>([
    { parameters: { replicas: '+2' }, scale: { mode: 'relative', replicas: 2 } },
    {
      parameters: { replicas: '-1', min: 2 },
      scale: { mode: 'relative', replicas: -1, minReplicas: 2 },
    },
    { parameters: { replicas: 5 }, scale: { mode: 'absolute', replicas: 5 } },
    { parameters: { replicas: '5' }, scale: { mode: 'absolute', replicas: 5 } },
    { parameters: { replicas: 0 }, scale: { mode: 'absolute', replicas: 0 } },
    { parameters: { increment: '+3' }, scale: { mode: 'relative', replicas: 3 } },
    {
      parameters: { by: -2, minReplicas: 1 },
      scale: { mode: 'relative', replicas: -2, minReplicas: 1 },
    },
    {
      parameters: { step: 1, min_replicas: 2, max_replicas: 4 },
      scale: { mode: 'relative', replicas: 1, minReplicas: 2, maxReplicas: 4 },
    },
    {
      parameters: { replicas: 4, min: 4, max: 4 },
      scale: { mode: 'absolute', replicas: 4, minReplicas: 4, maxReplicas: 4 },
    },
  ])('scale $parameters', ({ parameters, scale }) => {
    const out = parse(policy({ actions: [{ type: 'scale', parameters }] }));
    expect(out.actions[0]).toEqual({ type: 'scale', scale, parameters });
  });

  it('keeps restart and rollback parameters verbatim, defaulting to {}', () => {
    const out = parse(
      policy({
        actions: [
          { type: 'restart' },
          { type: 'restart', parameters: { strategy: 'rolling', extra: [1] } },
          { type: 'rollback' },
          { type: 'rollback', parameters: { toRevision: 3 } },
        ],
      }),
    );
    expect(out.actions).toEqual([
      { type: 'restart', parameters: {} },
      { type: 'restart', parameters: { strategy: 'rolling', extra: [1] } },
      { type: 'rollback', parameters: {} },
      { type: 'rollback', parameters: { toRevision: 3 } },
    ]);
  });
});

describe('defaults and warnings', () => {
  it('defaults enabled, cooldown and target kind', () => {
    const out = parse(policy());
    expect(out).toMatchObject({
      enabled: true,
      cooldownMs: 300_000,
      target: { kind: 'service', name: 'api' },
    });
    expect(out.warnings).toEqual([]);
  });

  it.each([
    { overrides: { target: undefined }, warning: 'target: none given' },
    { overrides: { cooldown: 500 }, warning: 'cooldown: 500ms is very short' },
    { overrides: { cooldown: 0 }, warning: 'cooldown: 0' },
    {
      overrides: { trigger: { metric: 'm', threshold: 1, duration: 300 } },
      warning: 'trigger.duration: 300ms is very short',
    },
    {
      overrides: { actions: [{ type: 'scale', parameters: { replicas: '+1' } }] },
      warning: 'actions[0]: scale +1 has no maximum',
    },
    {
      overrides: {
        actions: [{ type: 'scale', parameters: { replicas: '+1', maxReplica: 3, max: 4 } }],
      },
      warning: 'actions[0].parameters.maxReplica: not a scale parameter',
    },
  ])('warns: $warning', ({ overrides, warning }) => {
    const input = policy(overrides);
    if ('target' in overrides) delete input['target'];
    const out = parse(input);
    expect(out.warnings.some((w) => w.startsWith(warning))).toBe(true);
  });
});

describe('reserve (a proportional scale-in keeps part of the forecast tail)', () => {
  const scaleIn = (overrides: Record<string, unknown> = {}) =>
    policy({
      trigger: { metric: 'cpu', threshold: 63, direction: 'below', duration: '5m' },
      actions: [{ type: 'scale', parameters: { targetPerReplica: 70 } }],
      leadTime: '5m',
      ...overrides,
    });

  it('defaults to 0.5 (the median) and takes a probability in (0, 1)', () => {
    expect(parse(scaleIn()).reserveProbability).toBe(0.5);
    const out = parse(scaleIn({ reserve: { probability: 0.35 } }));
    expect(out.reserveProbability).toBe(0.35);
    expect(out.warnings).toEqual([]);
  });

  it('applies to a predictive scale-in too: its reactive fires keep the forecast (no warning)', () => {
    const out = parse(
      scaleIn({
        trigger: {
          metric: 'cpu',
          threshold: 63,
          direction: 'below',
          duration: '5m',
          predict: { horizon: '10m', probability: 0.3 },
        },
        reserve: { probability: 0.3 },
      }),
    );
    expect(out.reserveProbability).toBe(0.3);
    expect(out.warnings.filter((w) => w.startsWith('reserve:'))).toEqual([]);
  });

  it.each([0, 1, -0.2, 1.5])('rejects probability %s with its path', (probability) => {
    expect(issuePaths([scaleIn({ reserve: { probability } })])).toEqual(['0.reserve.probability']);
  });

  it.each([
    { form: 'without a leadTime', overrides: { leadTime: undefined } },
    {
      form: 'on a scale-out',
      overrides: { trigger: { metric: 'cpu', threshold: 80, duration: '1m' } },
    },
    {
      form: 'on a predictive policy',
      overrides: {
        trigger: {
          metric: 'cpu',
          threshold: 80,
          duration: 0,
          predict: { horizon: '10m', probability: 0.3 },
        },
      },
    },
    { form: 'on a restart', overrides: { actions: [{ type: 'restart' }] } },
  ])('warns that it has no effect $form', ({ overrides }) => {
    const input = scaleIn({ reserve: { probability: 0.3 }, ...overrides });
    if (overrides.leadTime === undefined && 'leadTime' in overrides) delete input['leadTime'];
    const out = parse(input);
    expect(out.warnings.some((w) => w.startsWith('reserve: has no effect'))).toBe(true);
  });
});

describe('PolicyFileSchema', () => {
  it.each([
    { form: 'one policy', input: policy() },
    { form: 'a list', input: [policy()] },
    { form: '{policies}', input: { policies: [policy()] } },
    { form: '{version: 1, policies}', input: { version: 1, policies: [policy()] } },
  ])('accepts $form', ({ input }) => {
    const result = PolicyFileSchema.safeParse(input);
    expect(result.success).toBe(true);
    expect(result.data).toHaveLength(1);
  });

  it.each([
    {
      name: 'missing metric',
      input: [policy({ trigger: { threshold: 1, duration: '1m' } })],
      path: '0.trigger.metric',
    },
    {
      name: 'bad threshold',
      input: {
        policies: [policy({ trigger: { metric: 'm', threshold: 'eighty', duration: '1m' } })],
      },
      path: 'policies.0.trigger.threshold',
    },
    {
      name: 'bad duration',
      input: policy({ trigger: { metric: 'm', threshold: 1, duration: '5 minutes' } }),
      path: 'trigger.duration',
    },
    { name: 'unknown key', input: policy({ treshold: 1 }), path: '' },
    {
      name: 'bad action type',
      input: policy({ actions: [{ type: 'reboot' }] }),
      path: 'actions.0.type',
    },
    { name: 'no actions', input: policy({ actions: [] }), path: 'actions' },
    {
      name: 'min > max',
      input: policy({
        actions: [{ type: 'scale', parameters: { replicas: '+1', min: 5, max: 2 } }],
      }),
      path: 'actions.0.parameters.max',
    },
    {
      name: 'zero relative',
      input: policy({ actions: [{ type: 'scale', parameters: { by: 0 } }] }),
      path: 'actions.0.parameters.by',
    },
    {
      name: 'negative absolute',
      input: policy({ actions: [{ type: 'scale', parameters: { replicas: -1 } }] }),
      path: 'actions.0.parameters.replicas',
    },
    {
      name: 'two amounts',
      input: policy({ actions: [{ type: 'scale', parameters: { replicas: '+1', by: 1 } }] }),
      path: 'actions.0.parameters.by',
    },
    {
      name: 'no amount',
      input: policy({ actions: [{ type: 'scale', parameters: { max: 3 } }] }),
      path: 'actions.0.parameters',
    },
    {
      name: 'bad regex',
      input: policy({
        trigger: { metric: 'm', threshold: 1, duration: '1m', selector: { pod: { regex: '(' } } },
      }),
      path: 'trigger.selector.pod.regex',
    },
    {
      name: 'bad placeholder',
      input: policy({ target: { name: '{{bad-name}}' } }),
      path: 'target.name',
    },
    {
      name: 'direction and operator',
      input: policy({
        trigger: { metric: 'm', threshold: 1, duration: '1m', direction: 'above', operator: '>' },
      }),
      path: 'trigger.operator',
    },
    {
      name: 'duplicate names',
      input: [policy({ name: 'x' }), policy({ name: 'x' })],
      path: '1.name',
    },
    { name: 'duplicate derived names', input: [policy(), policy()], path: '1.name' },
    { name: 'bad version', input: { version: 2, policies: [policy()] }, path: 'version' },
    { name: 'empty list', input: [], path: '' },
    { name: 'scalar file', input: 'hello', path: '' },
  ])('rejects $name at "$path"', ({ input, path }) => {
    expect(issuePaths(input)).toContain(path);
  });

  it('reports problems of every policy in one pass', () => {
    const paths = issuePaths([
      policy({ trigger: { metric: 'm', threshold: 'x', duration: '1m' } }),
      policy({ name: 'a' }),
      policy({ name: 'a' }),
      policy({ actions: [{ type: 'reboot' }] }),
    ]);
    expect(paths).toEqual(['0.trigger.threshold', '2.name', '3.actions.0.type']);
  });
});
