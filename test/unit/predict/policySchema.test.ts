import { describe, expect, it } from 'vitest';
import { describePolicy } from '../../../src/cli/policyValidate.js';
import { parsePolicies, tryParsePolicies } from '../../../src/policy/load.js';
import { HealingPolicySchema, type Policy } from '../../../src/policy/schema.js';

/** A policy file in YAML: the seed-like basics plus `trigger` and top-level extras. */
function yaml(trigger: string, extra = ''): string {
  return `name: p
trigger: { metric: cpu_utilization, threshold: 80, duration: 5m${trigger} }
target: { name: api }
actions: [{ type: restart }]
cooldown: 10m
${extra}`;
}

function parseOne(text: string): Policy {
  const [policy] = parsePolicies(text, 'p.yaml');
  if (policy === undefined) throw new Error('no policy');
  return policy;
}

function problems(text: string): string[] {
  const result = tryParsePolicies(text, 'p.yaml');
  if (result.ok) throw new Error('expected the file to be invalid');
  return result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe('predictive policy fields', () => {
  it('a policy without them is reactive, with the defaults', () => {
    const policy = parseOne(yaml(''));
    expect(policy.trigger.predict).toBeUndefined();
    expect(policy).toMatchObject({ leadTimeMs: 0, forecastOnly: false, warnings: [] });
  });

  it('the seed example is unchanged: no predict, lead time 0, not forecast-only', () => {
    const policy = HealingPolicySchema.parse({
      trigger: { metric: 'cpu_utilization', threshold: 80, duration: '5m' },
      actions: [{ type: 'scale', parameters: { replicas: '+2', max: 10 } }],
      cooldown: '10m',
    });
    expect(policy.trigger.predict).toBeUndefined();
    expect(policy.leadTimeMs).toBe(0);
    expect(policy.forecastOnly).toBe(false);
  });

  it.each([
    {
      name: 'flow style',
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'leadTime: 3m',
      predict: { horizonMs: 600_000, probability: 0.8 },
      leadTimeMs: 180_000,
      forecastOnly: false,
    },
    {
      name: 'milliseconds, probability 1, lead time = horizon',
      trigger: ', predict: { horizon: 900000, probability: 1 }',
      extra: 'leadTime: 15m\nforecastOnly: true',
      predict: { horizonMs: 900_000, probability: 1 },
      leadTimeMs: 900_000,
      forecastOnly: true,
    },
    {
      name: 'no lead time',
      trigger: ', predict: { horizon: 1h, probability: 0.95 }',
      extra: 'forecastOnly: false',
      predict: { horizonMs: 3_600_000, probability: 0.95 },
      leadTimeMs: 0,
      forecastOnly: false,
    },
  ])('accepts $name', ({ trigger, extra, predict, leadTimeMs, forecastOnly }) => {
    const policy = parseOne(yaml(trigger, extra));
    expect(policy.trigger.predict).toEqual(predict);
    expect(policy).toMatchObject({ leadTimeMs, forecastOnly });
  });

  it.each<{ name: string; trigger: string; extra: string; problem: string; also?: string }>([
    {
      name: 'zero horizon',
      trigger: ', predict: { horizon: 0m, probability: 0.8 }',
      extra: '',
      problem: 'trigger.predict.horizon: must be longer than zero, got "0m"',
    },
    {
      name: 'probability 0',
      trigger: ', predict: { horizon: 10m, probability: 0 }',
      extra: '',
      problem:
        'trigger.predict.probability: must be a probability greater than 0 and at most 1 (e.g. 0.8), got 0',
    },
    {
      name: 'probability above 1',
      trigger: ', predict: { horizon: 10m, probability: 80 }',
      extra: '',
      problem:
        'trigger.predict.probability: must be a probability greater than 0 and at most 1 (e.g. 0.8), got 80',
    },
    {
      name: 'probability as text',
      trigger: ', predict: { horizon: 10m, probability: high }',
      extra: '',
      problem: 'trigger.predict.probability: expected a number, got "high"',
    },
    {
      name: 'missing probability',
      trigger: ', predict: { horizon: 10m }',
      extra: '',
      problem: 'trigger.predict.probability: missing (expected a number)',
    },
    {
      name: 'misspelt horizon',
      trigger: ', predict: { horizn: 10m, probability: 0.8 }',
      extra: '',
      problem: 'trigger.predict.horizn: unknown key (did you mean "horizon"?)',
      also: 'trigger.predict.horizon: missing (does not match any allowed form)',
    },
    {
      name: 'predict not a mapping',
      trigger: ', predict: 10m',
      extra: '',
      problem: 'trigger.predict: expected a mapping, got "10m"',
    },
    {
      name: 'lead time longer than the horizon',
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'leadTime: 15m',
      problem:
        'leadTime: lead time 15m is longer than trigger.predict.horizon 10m: a breach would be foreseen too late to have the target ready; lengthen the horizon or shorten the lead time',
    },
    {
      name: 'bad lead time',
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'leadTime: soon',
      problem:
        'leadTime: invalid duration "soon": use milliseconds or a string like "30s", "5m", "1h30m"',
    },
    {
      name: 'forecastOnly not a boolean',
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'forecastOnly: "yes"',
      problem: 'forecastOnly: expected a boolean (true or false), got "yes"',
    },
    {
      name: 'misspelt leadTime',
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'leadtime: 3m',
      problem: 'leadtime: unknown key (did you mean "leadTime"?)',
    },
  ])('rejects $name', ({ trigger, extra, problem, also }) => {
    const found = problems(yaml(trigger, extra));
    expect(found).toEqual(also === undefined ? [problem] : [also, problem]);
  });

  it.each([
    {
      name: 'lead time without predict',
      trigger: '',
      extra: 'leadTime: 3m',
      warning: 'leadTime: has no effect without trigger.predict',
    },
    {
      name: 'forecastOnly without predict',
      trigger: '',
      extra: 'forecastOnly: true',
      warning:
        'forecastOnly: has no effect without trigger.predict (it applies to predictive fires only)',
    },
    {
      name: 'a low probability',
      trigger: ', predict: { horizon: 10m, probability: 0.02 }',
      extra: '',
      warning:
        'trigger.predict.probability: 0.02 acts when only the far upper tail of the forecast crosses the threshold; expect false alarms',
    },
    {
      name: 'a cooldown shorter than the lead time',
      trigger: ', predict: { horizon: 30m, probability: 0.8 }',
      extra: 'leadTime: 20m',
      warning:
        'cooldown: 10m is shorter than leadTime 20m, so the policy may act again before its first action has taken effect',
    },
    {
      name: 'a horizon in bare milliseconds',
      trigger: ', predict: { horizon: 600, probability: 0.8 }',
      extra: '',
      warning:
        'trigger.predict.horizon: 600ms is very short; a bare number means milliseconds (did you mean "600s"?)',
    },
  ])('warns about $name', ({ trigger, extra, warning }) => {
    expect(parseOne(yaml(trigger, extra)).warnings).toEqual([warning]);
  });

  it.each([
    { trigger: '', extra: '', tail: 'cooldown 10m' },
    {
      trigger: ', predict: { horizon: 10m, probability: 0.8 }',
      extra: 'leadTime: 3m',
      tail: 'cooldown 10m; predicts 10m ahead at p≥0.8, lead time 3m',
    },
    {
      trigger: ', predict: { horizon: 1h30m, probability: 0.95 }',
      extra: 'forecastOnly: true',
      tail: 'cooldown 10m; predicts 1h30m ahead at p≥0.95, forecast only (predictive actions not enqueued)',
    },
  ])('describePolicy ends with "$tail"', ({ trigger, extra, tail }) => {
    expect(describePolicy(parseOne(yaml(trigger, extra)))).toBe(
      `p: when cpu_utilization > 80 for 5m: restart on service "api"; ${tail}`,
    );
  });
});
