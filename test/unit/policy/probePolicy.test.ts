import { describe, expect, it } from 'vitest';
import { describePolicy } from '../../../src/cli/policyValidate.js';
import { tryParsePolicies } from '../../../src/policy/load.js';
import {
  HealingPolicySchema,
  PROBE_DEFAULTS,
  type HealingPolicy,
  type Policy,
} from '../../../src/policy/schema.js';
import { isBreaching } from '../../../src/policy/breach.js';
import { matchesSelector } from '../../../src/policy/selector.js';

function parse(input: unknown): Policy {
  const result = HealingPolicySchema.safeParse(input);
  if (!result.success) throw new Error(JSON.stringify(result.error.issues));
  return result.data;
}

const probePolicy = (
  probe: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
) => ({
  name: 'api-liveness',
  probe: { httpGet: { path: '/healthz', port: 8080 }, ...probe },
  target: { kind: 'service', name: 'api' },
  actions: [{ type: 'restart' }],
  cooldown: '2m',
  ...overrides,
});

/** The issue lines of a YAML policy file, without the file name. */
function problems(yaml: string): string[] {
  const result = tryParsePolicies(yaml, 'p.yaml');
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe('probe policies', () => {
  it.each([
    {
      name: 'the kubelet defaults and the local host',
      probe: {},
      expected: {
        httpGet: { scheme: 'http', host: '127.0.0.1', port: 8080, path: '/healthz' },
        ...PROBE_DEFAULTS,
      },
    },
    {
      name: 'every field, sub-second durations and the upper-case scheme',
      probe: {
        httpGet: { path: '/live', port: 9443, host: 'api.internal', scheme: 'HTTPS' },
        initialDelay: '10s',
        period: '250ms',
        timeout: '200ms',
        failureThreshold: 5,
      },
      expected: {
        httpGet: { scheme: 'https', host: 'api.internal', port: 9443, path: '/live' },
        initialDelayMs: 10_000,
        periodMs: 250,
        timeoutMs: 200,
        failureThreshold: 5,
      },
    },
  ])('take $name', ({ probe, expected }) => {
    expect(parse(probePolicy(probe)).probe).toEqual(expected);
  });

  it("default to the kubelet's liveness settings, without warnings", () => {
    expect(PROBE_DEFAULTS).toEqual({
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1_000,
      failureThreshold: 3,
    });
    expect(parse(probePolicy()).warnings).toEqual([]);
  });

  it('default the path to /', () => {
    expect(parse(probePolicy({ httpGet: { port: 80 } })).probe?.httpGet.path).toBe('/');
  });

  it('become an ordinary trigger on the consecutive-failure count, firing at once', () => {
    const policy = parse(probePolicy({ failureThreshold: 4 }));
    const { trigger } = policy;
    expect(trigger).toMatchObject({
      metric: 'healcast_probe_consecutive_failures',
      threshold: 4,
      direction: 'above',
      inclusive: true,
      durationMs: 0,
      predict: undefined,
    });
    expect(trigger.selector).toEqual([{ label: 'probe', op: '=', value: 'api-liveness' }]);
    expect(matchesSelector(trigger.selector, { probe: 'api-liveness', target: 'api' })).toBe(true);
    expect(matchesSelector(trigger.selector, { probe: 'other', target: 'api' })).toBe(false);
    const rule = { ...trigger, cooldownMs: policy.cooldownMs };
    expect([3, 4, 5].map((value) => isBreaching(rule, value))).toEqual([false, true, true]);
    expect(policy.cooldownMs).toBe(120_000);
  });

  it('leave ordinary policies without a probe', () => {
    const policy = parse({
      trigger: { metric: 'cpu', threshold: 80, duration: '5m' },
      target: { name: 'api' },
      actions: [{ type: 'restart' }],
    });
    expect(policy.probe).toBeUndefined();
  });

  it('keep the seed type assignable (trigger is optional only in the input type)', () => {
    const seed: HealingPolicy = {
      trigger: { metric: 'cpu', threshold: 80, duration: '5m' },
      actions: [{ type: 'restart' }],
      cooldown: '10m',
    };
    expect(parse(seed).trigger.metric).toBe('cpu');
  });

  it.each([
    {
      name: 'timeout not shorter than the period',
      probe: { period: '2s', timeout: '2s' },
      warning:
        'probe.timeout: 2s is not shorter than probe.period 2s, so a hanging endpoint delays the next probe',
    },
    {
      name: 'a bare number of seconds, Kubernetes style',
      probe: { period: 10 },
      warning:
        'probe.period: 10ms is very short; a bare number means milliseconds (did you mean "10s"?)',
    },
    {
      name: 'a bare initial delay',
      probe: { initialDelay: 5 },
      warning:
        'probe.initialDelay: 5ms is very short; a bare number means milliseconds (did you mean "5s"?)',
    },
  ])('warn about $name', ({ probe, warning }) => {
    expect(parse(probePolicy(probe)).warnings).toContain(warning);
  });
});

describe('probe policy errors', () => {
  it.each([
    {
      name: 'both trigger and probe',
      yaml: `
- name: p
  trigger: { metric: cpu, threshold: 1, duration: 0 }
  probe: { httpGet: { port: 80 } }
  actions: [{ type: restart }]`,
      expected: [
        '[0].probe: give either trigger or probe, not both (a probe policy fires on its probe alone)',
      ],
    },
    {
      name: 'neither trigger nor probe',
      yaml: `
- name: p
  actions: [{ type: restart }]`,
      expected: [
        '[0].trigger: missing: give a trigger (a metric condition) or a probe (an HTTP liveness check)',
      ],
    },
    {
      name: 'a probe policy without a name',
      yaml: `
- probe: { httpGet: { port: 80 } }
  target: { name: api }
  actions: [{ type: restart }]`,
      expected: [
        '[0].name: missing: a probe policy needs a name, which labels its metrics (probe="<name>")',
      ],
    },
    {
      name: 'a templated target',
      yaml: `
- name: p
  probe: { httpGet: { port: 80 } }
  target: { name: '{{service}}', namespace: '{{ns}}' }
  actions: [{ type: restart }]`,
      expected: [
        '[0].target.name: a probe policy acts on one fixed target: {{label}} placeholders are not allowed, got "{{service}}"',
        '[0].target.namespace: a probe policy acts on one fixed target: {{label}} placeholders are not allowed, got "{{ns}}"',
      ],
    },
    {
      name: 'a zero period and timeout',
      yaml: `
- name: p
  probe: { httpGet: { port: 80 }, period: 0, timeout: 0s }
  actions: [{ type: restart }]`,
      expected: [
        '[0].probe.period: must be longer than zero, got 0',
        '[0].probe.timeout: must be longer than zero, got "0s"',
      ],
    },
    {
      name: 'bad request fields',
      yaml: `
- name: p
  probe:
    httpGet: { path: healthz, port: 70000, host: 'http://api', scheme: ftp }
    failureThreshold: 0
  actions: [{ type: restart }]`,
      expected: [
        '[0].probe.httpGet.path: must start with "/", got "healthz"',
        '[0].probe.httpGet.port: must be <= 65535, got 70000',
        '[0].probe.httpGet.host: must be a host name or address, not a URL (no scheme, no path), got "http://api"',
        '[0].probe.httpGet.scheme: expected one of "http", "https", "HTTP", "HTTPS", got "ftp"',
        '[0].probe.failureThreshold: must be >= 1, got 0',
      ],
    },
    {
      name: 'a missing port',
      yaml: `
- name: p
  probe: { httpGet: { path: /healthz } }
  actions: [{ type: restart }]`,
      expected: ['[0].probe.httpGet.port: missing (expected a number)'],
    },
    {
      name: 'Kubernetes field names and typos',
      yaml: `
- name: p
  probe:
    httpGet: { port: 80, pth: /x }
    periodSeconds: 10
    failureTreshold: 2
  actions: [{ type: restart }]`,
      expected: [
        '[0].probe.httpGet.pth: unknown key (did you mean "path"?)',
        '[0].probe.periodSeconds: unknown key (did you mean "period"? it takes a duration such as "10s")',
        '[0].probe.failureTreshold: unknown key (did you mean "failureThreshold"?)',
      ],
    },
  ])('report $name', ({ yaml, expected }) => {
    expect(problems(yaml)).toEqual(expected);
  });
});

describe('policy validate output', () => {
  it('describes a probe policy by its probe, not its derived trigger', () => {
    const policy = parse(
      probePolicy({ initialDelay: '10s', period: '10s', timeout: '1s', failureThreshold: 3 }),
    );
    expect(describePolicy(policy)).toBe(
      'api-liveness: when GET http://127.0.0.1:8080/healthz fails 3 times in a row ' +
        '(probed every 10s, timeout 1s, initial delay 10s): restart on service "api"; cooldown 2m',
    );
  });

  it('says "fails" for a threshold of 1 and brackets an IPv6 host', () => {
    const policy = parse(
      probePolicy({ httpGet: { port: 80, host: '::1', scheme: 'https' }, failureThreshold: 1 }),
    );
    expect(describePolicy(policy)).toBe(
      'api-liveness: when GET https://[::1]:80/ fails (probed every 10s, timeout 1s): ' +
        'restart on service "api"; cooldown 2m',
    );
  });
});
