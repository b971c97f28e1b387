import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../../src/adapters/fsPolicyLoader.js';
import { HealcastError } from '../../../src/errors.js';
import {
  parsePolicies,
  PolicyInvalidError,
  tryParsePolicies,
  type PolicyIssue,
} from '../../../src/policy/load.js';

function issuesOf(text: string, source = 'p.yaml'): PolicyIssue[] {
  const result = tryParsePolicies(text, source);
  if (result.ok) throw new Error('expected the file to be invalid');
  return result.issues;
}

const SEED_TAIL = `
    parameters: PARAMS
cooldown: 10m
`;
const seedYaml = (params: string) =>
  `trigger:
  metric: cpu_utilization
  threshold: 80
  duration: 5m
actions:
  - type: scale${SEED_TAIL.replace('PARAMS', params)}`;

describe('the seed example in every spelling', () => {
  it.each([
    { spelling: 'YAML "+2"', source: 'seed.yaml', text: seedYaml(`{ replicas: "+2", max: 10 }`) },
    {
      spelling: 'YAML unquoted +2',
      source: 'seed.yaml',
      text: seedYaml(`{ replicas: +2, max: 10 }`),
    },
    {
      spelling: 'YAML block, unquoted +2',
      source: 'seed.yml',
      text: seedYaml(`\n      replicas: +2\n      max: 10`),
    },
    {
      spelling: 'YAML increment',
      source: 'seed',
      text: seedYaml(`{ increment: 2, maxReplicas: 10 }`),
    },
    { spelling: 'YAML by', source: 'seed', text: seedYaml(`{ by: 2, max: 10 }`) },
    { spelling: 'YAML step', source: 'seed', text: seedYaml(`{ step: 2, max_replicas: 10 }`) },
    {
      spelling: 'JSON',
      source: 'seed.json',
      text: JSON.stringify({
        trigger: { metric: 'cpu_utilization', threshold: 80, duration: '5m' },
        actions: [{ type: 'scale', parameters: { replicas: '+2', max: 10 } }],
        cooldown: '10m',
      }),
    },
    {
      spelling: 'JSON without extension',
      source: '<stdin>',
      text: `{"trigger":{"metric":"cpu_utilization","threshold":80,"duration":"5m"},
        "actions":[{"type":"scale","parameters":{"by":2,"max":10}}],"cooldown":"10m"}`,
    },
  ])('$spelling', ({ text, source }) => {
    const [policy, ...rest] = parsePolicies(text, source);
    expect(rest).toEqual([]);
    expect(policy).toMatchObject({
      name: 'cpu_utilization_above_80',
      trigger: {
        metric: 'cpu_utilization',
        threshold: 80,
        durationMs: 300_000,
        direction: 'above',
      },
      cooldownMs: 600_000,
      actions: [{ type: 'scale', scale: { mode: 'relative', replicas: 2, maxReplicas: 10 } }],
    });
  });

  it('keeps the source text of a signed YAML replicas in parameters', () => {
    const [policy] = parsePolicies(seedYaml(`{ replicas: +2, max: 10 }`), 'seed.yaml');
    expect(policy?.actions[0]?.parameters).toEqual({ replicas: '+2', max: 10 });
  });

  it.each([
    { yaml: 'replicas: 2', scale: { mode: 'absolute', replicas: 2 } },
    { yaml: 'replicas: -1', scale: { mode: 'relative', replicas: -1 } },
    { yaml: 'replicas: "3"', scale: { mode: 'absolute', replicas: 3 } },
  ])('YAML $yaml', ({ yaml, scale }) => {
    const [policy] = parsePolicies(seedYaml(`{ ${yaml}, max: 10 }`), 'p.yaml');
    expect(policy?.actions[0]).toMatchObject({ scale });
  });

  it('treats a JSON number as absolute', () => {
    const text = JSON.stringify({
      trigger: { metric: 'm', threshold: 1, duration: '1m' },
      actions: [{ type: 'scale', parameters: { replicas: 2 } }],
    });
    expect(parsePolicies(text, 'p.json')[0]?.actions[0]).toMatchObject({
      scale: { mode: 'absolute', replicas: 2 },
    });
  });

  it('only rewrites replicas inside parameters', () => {
    const issues = issuesOf(`trigger: { metric: m, threshold: 1, duration: 1m, replicas: +2 }
actions: [{ type: restart }]`);
    expect(issues.map((i) => i.text)).toEqual([
      'p.yaml:1:51: trigger.replicas: unknown key (allowed: metric, selector, threshold, direction, operator, duration, maxGap, predict)',
    ]);
    expect(issues[0]?.value).toBe(2);
  });
});

describe('file forms', () => {
  const one = `trigger: { metric: m, threshold: 1, duration: 1m }\n  actions: [{ type: restart }]`;
  it.each([
    { form: 'single', text: one.replace('\n  ', '\n') },
    { form: 'list', text: `- ${one}` },
    { form: 'policies', text: `policies:\n  - ${one.replace('\n  ', '\n    ')}` },
    {
      form: 'version + policies',
      text: `version: 1\npolicies:\n  - ${one.replace('\n  ', '\n    ')}`,
    },
  ])('$form', ({ text }) => {
    expect(tryParsePolicies(text, 'f.yaml')).toMatchObject({ ok: true, format: 'yaml' });
  });

  it('reports JSON as the format of JSON text', () => {
    expect(tryParsePolicies('[]', 'x')).toMatchObject({ ok: false });
    const text = `[{"trigger":{"metric":"m","threshold":1,"duration":0},"actions":[{"type":"restart"}]}]`;
    expect(tryParsePolicies(text, 'x')).toMatchObject({ ok: true, format: 'json' });
  });

  it('falls back to YAML for flow-style text that is not JSON', () => {
    const text = `{trigger: {metric: m, threshold: 1, duration: 1m}, actions: [{type: restart}]}`;
    expect(tryParsePolicies(text, 'inline')).toMatchObject({ ok: true, format: 'yaml' });
  });

  it('ignores a byte-order mark', () => {
    const text =
      '\uFEFF{"trigger":{"metric":"m","threshold":1,"duration":0},"actions":[{"type":"restart"}]}';
    expect(tryParsePolicies(text, 'bom.json').ok).toBe(true);
  });
});

describe('errors name the path, the bad value and the position', () => {
  const base = (trigger: string, rest = 'actions: [{ type: restart }]') =>
    `policies:\n  - trigger: ${trigger}\n    ${rest}\n`;
  const ok = '{ metric: m, threshold: 1, duration: 1m }';
  it.each([
    {
      name: 'missing metric',
      text: base('{ threshold: 1, duration: 1m }'),
      want: 'p.yaml:2:14: policies[0].trigger.metric: missing (expected a string)',
    },
    {
      name: 'bad threshold type',
      text: base('{ metric: m, threshold: eighty, duration: 1m }'),
      want: 'p.yaml:2:38: policies[0].trigger.threshold: expected a number, got "eighty"',
    },
    {
      name: 'bad duration',
      text: base('{ metric: m, threshold: 1, duration: 5 minutes }'),
      want: 'p.yaml:2:51: policies[0].trigger.duration: invalid duration "5 minutes"',
    },
    {
      name: 'unknown key with a suggestion',
      text: base('{ metric: m, treshold: 1, threshold: 1, duration: 1m }'),
      want: 'p.yaml:2:27: policies[0].trigger.treshold: unknown key (did you mean "threshold"?)',
    },
    {
      name: 'unknown top-level key',
      text: base(ok, 'actions: [{ type: restart }]\n    cooldwn: 5m'),
      want: 'p.yaml:4:5: policies[0].cooldwn: unknown key (did you mean "cooldown"?)',
    },
    {
      name: 'bad direction',
      text: base('{ metric: m, threshold: 1, duration: 1m, direction: up }'),
      want: 'policies[0].trigger.direction: expected one of "above", "below", got "up"',
    },
    {
      name: 'bad action type',
      text: base(ok, 'actions: [{ type: reboot }]'),
      want: 'p.yaml:3:23: policies[0].actions[0].type: expected one of "scale", "restart", "rollback", got "reboot"',
    },
    {
      name: 'missing action type',
      text: base(ok, 'actions: [{ parameters: {} }]'),
      want: 'policies[0].actions[0].type: missing (expected one of "scale", "restart", "rollback")',
    },
    {
      name: 'no actions',
      text: base(ok, 'actions: []'),
      want: 'policies[0].actions: must have at least 1 item(s), got []',
    },
    {
      name: 'scale min > max',
      text: base(ok, 'actions: [{ type: scale, parameters: { replicas: "+1", min: 5, max: 2 } }]'),
      want: 'policies[0].actions[0].parameters.max: maximum 2 is below minimum 5 (parameters.min)',
    },
    {
      name: 'scale zero relative',
      text: base(ok, 'actions: [{ type: scale, parameters: { replicas: "+0" } }]'),
      want: 'policies[0].actions[0].parameters.replicas: a relative scale must be non-zero, got "+0"',
    },
    {
      name: 'scale negative absolute',
      text: base(ok, 'actions: [{ type: scale, parameters: { replicas: -3 } }]'),
      // Unquoted -3 keeps its sign, so YAML reads it as relative: valid. JSON cannot.
      want: undefined,
    },
    {
      name: 'scale non-integer',
      text: base(ok, 'actions: [{ type: scale, parameters: { replicas: "two" } }]'),
      want: 'policies[0].actions[0].parameters.replicas: expected an integer (absolute count) or a signed string like "+2" (relative), got "two"',
    },
    {
      name: 'scale bound not an integer',
      text: base(ok, 'actions: [{ type: scale, parameters: { by: 1, max: "ten" } }]'),
      want: 'policies[0].actions[0].parameters.max: expected a non-negative integer, got "ten"',
    },
    {
      name: 'absolute outside bounds',
      text: base(ok, 'actions: [{ type: scale, parameters: { replicas: 20, max: 10 } }]'),
      want: 'policies[0].actions[0].parameters.replicas: absolute replica count 20 is outside [0, 10]',
    },
    {
      name: 'bad rollback revision',
      text: base(ok, 'actions: [{ type: rollback, parameters: { toRevision: -1 } }]'),
      want: 'policies[0].actions[0].parameters.toRevision: expected a non-negative integer revision, got -1',
    },
    {
      name: 'bad regex',
      text: base(
        '{ metric: m, threshold: 1, duration: 1m, selector: { pod: { regex: "api-(" } } }',
      ),
      want: 'policies[0].trigger.selector.pod.regex: invalid regular expression (Unterminated group), got "api-("',
    },
    {
      name: 'bad matcher form',
      text: base('{ metric: m, threshold: 1, duration: 1m, selector: { pod: { like: "a" } } }'),
      want: 'policies[0].trigger.selector.pod: expected a string (exact match), {regex: "..."}, {not: "..."} or {notRegex: "..."}, got {"like":"a"}',
    },
    {
      name: 'bad label name',
      text: base('{ metric: m, threshold: 1, duration: 1m, selector: { "a-b": x } }'),
      want: 'policies[0].trigger.selector["a-b"]: label name "a-b" must match [a-zA-Z_][a-zA-Z0-9_]*',
    },
    {
      name: 'bad placeholder',
      text: base(ok, 'actions: [{ type: restart }]\n    target: { name: "{{ service" }'),
      want: 'policies[0].target.name: invalid template: "{{" without a closing "}}", got "{{ service"',
    },
    {
      name: 'direction and operator',
      text: base('{ metric: m, threshold: 1, duration: 1m, direction: below, operator: ">" }'),
      want: 'policies[0].trigger.operator: give either direction or operator, not both (direction is "below"), got ">"',
    },
    {
      name: 'bad policy name',
      text: base(ok, 'actions: [{ type: restart }]\n    name: "has space"'),
      want: 'policies[0].name: must be letters, digits and _ . : - (not starting with . or -), got "has space"',
    },
    {
      name: 'enabled not a boolean',
      text: base(ok, 'actions: [{ type: restart }]\n    enabled: yes'),
      want: 'policies[0].enabled: expected a boolean (true or false), got "yes"',
    },
  ])('$name', ({ text, want }) => {
    const result = tryParsePolicies(text, 'p.yaml');
    if (want === undefined) {
      expect(result.ok).toBe(true);
      return;
    }
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.issues.map((i) => i.text);
    expect(
      lines.some((line) => line.includes(want)),
      lines.join('\n'),
    ).toBe(true);
  });

  it('rejects duplicate names, explicit and derived', () => {
    const text = `- { name: a, trigger: { metric: m, threshold: 1, duration: 0 }, actions: [{ type: restart }] }
- { name: a, trigger: { metric: n, threshold: 1, duration: 0 }, actions: [{ type: restart }] }
- { trigger: { metric: m, threshold: 1, duration: 0 }, actions: [{ type: restart }] }
- { trigger: { metric: m, threshold: 1, duration: 0 }, actions: [{ type: restart }] }
`;
    expect(issuesOf(text).map((i) => i.text)).toEqual([
      'p.yaml:2:11: [1].name: duplicate policy name "a", also used by [0]',
      'p.yaml:4:3: [3].name: duplicate policy name "m_above_1" (derived from the trigger; set a distinct name), also used by [2]',
    ]);
  });

  it('reports every problem of the file, in file order, with values', () => {
    const text = `policies:
  - trigger: { metric: m, threshold: x, duration: 1m }
    actions: [{ type: reboot }]
  - trigger: { metric: m, threshold: 1, duration: soon }
    actions: [{ type: scale, parameters: { by: 0 } }]
`;
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.path, i.line, i.value])).toEqual([
      ['policies[0].trigger.threshold', 2, 'x'],
      ['policies[0].actions[0].type', 3, 'reboot'],
      ['policies[1].trigger.duration', 4, 'soon'],
      ['policies[1].actions[0].parameters.by', 5, 0],
    ]);
  });

  it('locates JSON issues too', () => {
    const text = `{
  "trigger": { "metric": "m", "threshold": "eighty", "duration": "1m" },
  "actions": [{ "type": "restart" }]
}`;
    expect(issuesOf(text, 'p.json').map((i) => i.text)).toEqual([
      'p.json:2:44: trigger.threshold: expected a number, got "eighty"',
    ]);
  });

  it.each([
    {
      name: 'unclosed flow',
      text: 'trigger: { metric: m\nactions: []\n',
      want: /^p\.yaml:\d+:\d+: \(root\): YAML syntax error: /,
    },
    {
      name: 'tab indentation',
      text: 'trigger:\n\tmetric: m\n',
      want: /^p\.yaml:2:1: \(root\): YAML syntax error: Tabs/,
    },
    {
      name: 'duplicate key',
      text: 'trigger: {}\ntrigger: {}\n',
      want: /^p\.yaml:2:1: \(root\): YAML syntax error: duplicate key "trigger"$/,
    },
    { name: 'several documents', text: 'a: 1\n---\nb: 2\n', want: /several YAML documents/ },
    {
      name: 'unknown alias',
      text: 'trigger: *nope\n',
      want: /^p\.yaml: \(root\): YAML error: .*nope/,
    },
    { name: 'empty file', text: '', want: /^p\.yaml: \(root\): the file is empty/ },
    { name: 'only comments', text: '# nothing\n', want: /the file is empty/ },
    {
      name: 'a scalar',
      text: 'hello\n',
      want: /^p\.yaml:1:1: \(root\): expected a policy, a list of policies, or \{policies: \[\.\.\.\]\}, got "hello"$/,
    },
    {
      name: 'empty list',
      text: 'policies: []\n',
      want: /policies: no policies: expected at least one$/,
    },
  ])('YAML: $name', ({ text, want }) => {
    const issues = issuesOf(text);
    expect(issues.map((i) => i.text).join('\n')).toMatch(want);
  });

  it('reports JSON syntax errors with line and column', () => {
    const issues = issuesOf('{\n  "trigger": {,\n}', 'p.json');
    expect(issues).toHaveLength(1);
    expect(issues[0]?.text).toMatch(/^p\.json:2:15: \(root\): JSON syntax error: /);
    expect(issues[0]?.text).not.toMatch(/position/);
  });

  it('throws PolicyInvalidError: POLICY_INVALID, not retriable, one line per issue', () => {
    const text = 'trigger: { metric: m, threshold: x, duration: 1m }\nactions: []\n';
    let caught: unknown;
    try {
      parsePolicies(text, 'bad.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyInvalidError);
    expect(caught).toBeInstanceOf(HealcastError);
    const error = caught as PolicyInvalidError;
    expect(error).toMatchObject({
      code: 'POLICY_INVALID',
      retriable: false,
      sourceName: 'bad.yaml',
    });
    expect(error.issues).toHaveLength(2);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.startsWith('bad.yaml:')).toBe(true);
  });
});

describe('the example files', () => {
  it.each([
    { file: 'src/demo/seed-example.yaml', names: ['cpu_utilization_above_80'] },
    {
      file: 'src/demo/example-policies.yaml',
      names: [
        'api-cpu-scale-out',
        'checkout-error-rollback',
        'payments-down-restart',
        'queue-backlog-burst',
        'order-workers-headroom-trial',
        'api-cpu-scale-in',
      ],
    },
    {
      file: 'src/demo/policies.yaml',
      names: [
        'web-scale-out',
        'web-scale-in',
        'web-flash-crowd-restart-cache',
        'web-traffic-lost-rollback',
      ],
    },
  ])('$file loads', async ({ file, names }) => {
    const policies = await loadPolicyFile(file);
    expect(policies.map((p) => p.name)).toEqual(names);
  });

  it('the demo policy watches the NASA trace series', async () => {
    const [policy] = await loadPolicyFile('src/demo/policies.yaml');
    expect(policy).toMatchObject({
      trigger: { metric: 'http_requests_per_minute', threshold: 200, durationMs: 180_000 },
      target: { kind: 'service', name: '{{service}}' },
      cooldownMs: 900_000,
      warnings: [],
    });
    expect(policy?.trigger.selector.map((m) => [m.label, m.op, m.value])).toEqual([
      ['service', '=', 'nasa-web'],
    ]);
  });
});

describe('loadPolicyFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'healcast-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('throws FILE_UNREADABLE for a missing file', async () => {
    const path = join(dir, 'missing.yaml');
    await expect(loadPolicyFile(path)).rejects.toMatchObject({
      code: 'FILE_UNREADABLE',
      retriable: false,
      message: expect.stringContaining(path) as unknown,
    });
  });

  it('throws FILE_UNREADABLE for a directory', async () => {
    await expect(loadPolicyFile(dir)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
  });

  it('throws POLICY_INVALID with the path as source name', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'trigger: { metric: m, threshold: 1, duration: 1m }\nactions: []\n');
    await expect(loadPolicyFile(path)).rejects.toMatchObject({
      code: 'POLICY_INVALID',
      retriable: false,
      message: `${path}:2:10: actions: must have at least 1 item(s), got []`,
    });
  });
});
