import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePolicy, formatDuration, policyValidate } from '../../../src/cli/policyValidate.js';
import { parsePolicies } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/schema.js';

async function run(file: string, json = false) {
  let stdout = '';
  let stderr = '';
  const code = await policyValidate(
    file,
    { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) },
    { json },
  );
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'healcast-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('policy validate, text output', () => {
  it.each([
    {
      file: 'src/demo/seed-example.yaml',
      lines: [
        'src/demo/seed-example.yaml: valid, 1 policy',
        '  cpu_utilization_above_80: when cpu_utilization > 80 for 5m: scale +2 (max 10) on service "default"; cooldown 10m',
      ],
      warnings: [
        'warning: src/demo/seed-example.yaml: cpu_utilization_above_80: target: none given, so actions go to service "default"; set target.name (it may use {{label}} placeholders)',
      ],
    },
    {
      file: 'src/demo/example-policies.yaml',
      lines: [
        'src/demo/example-policies.yaml: valid, 6 policies',
        '  api-cpu-scale-out: when cpu_utilization{service=~"api-.*",env!="dev"} > 80 for 5m: scale +2 (min 2, max 10) on deployment "{{service}}" in namespace "{{namespace}}"; cooldown 10m; predicts 10m ahead at p≥0.8, lead time 3m',
        '  checkout-error-rollback: when http_error_ratio{service="checkout"} >= 0.05 for 2m within 15m of a deployment of "{{service}}": rollback on deployment "checkout" in namespace "shop"; cooldown 30m',
        '  payments-down-restart: when up{job=~"payments|ledger"} < 1 for 1m: restart {"strategy":"rolling"} on service "{{job}}"; cooldown 15m',
        '  queue-backlog-burst (disabled): when queue_depth{queue="orders"} > 1000 on the first sample: scale +3 (max 20) on deployment "order-workers"; cooldown 5m',
        '  order-workers-headroom-trial: when worker_idle_ratio{queue="orders"} < 0.1 for 2m: scale +2 (max 20) on deployment "order-workers"; cooldown 10m; predicts 15m ahead at p≥0.9, lead time 4m, forecast only (predictive actions not enqueued)',
        '  api-cpu-scale-in: when cpu_utilization{service=~"api-.*"} < 63 for 5m: scale to ceil(replicas × value / 70) on deployment "{{service}}"; cooldown 5m; sized not below the forecast\'s p70 for the next 3m',
      ],
      warnings: [],
    },
    {
      file: 'src/demo/policies.yaml',
      lines: [
        'src/demo/policies.yaml: valid, 4 policies',
        '  web-scale-out: when http_requests_per_minute{service="nasa-web"} > 200 for 3m: scale +2 (max 10) on service "{{service}}"; cooldown 15m; predicts 10m ahead at p≥0.3, lead time 3m',
        '  web-scale-in: when http_requests_per_minute{service="nasa-web"} < 60 for 30m: scale -1 (min 2) on service "{{service}}"; cooldown 30m',
        '  web-flash-crowd-restart-cache: when http_requests_per_minute{service="nasa-web"} >= 300 for 1m: restart {"strategy":"rolling"} on service "{{service}}-cache"; cooldown 1h',
        '  web-traffic-lost-rollback: when http_requests_per_minute{service="nasa-web"} < 3 for 5m: rollback on deployment "{{service}}" in namespace "web"; cooldown 30m',
      ],
      warnings: [],
    },
  ])('$file is valid', async ({ file: path, lines, warnings }) => {
    const { code, stdout, stderr } = await run(path);
    expect(code).toBe(0);
    expect(stdout).toBe(lines.map((line) => `${line}\n`).join(''));
    expect(stderr).toBe(warnings.map((line) => `${line}\n`).join(''));
  });

  it('describes absolute scale, bounds and rollback parameters', async () => {
    const path = await file(
      'mixed.yaml',
      `name: mixed
trigger: { metric: free_bytes, threshold: 1e9, duration: 90s, operator: "<=" }
target: { name: db }
actions:
  - { type: scale, parameters: { replicas: 3, min: 1, max: 5 } }
  - { type: scale, parameters: { replicas: "-1", min: 1 } }
  - { type: rollback, parameters: { toRevision: 7 } }
cooldown: 1h30m
`,
    );
    const { code, stdout } = await run(path);
    expect(code).toBe(0);
    expect(stdout.split('\n')[1]).toBe(
      '  mixed: when free_bytes <= 1000000000 for 1m30s: scale to 3 (min 1, max 5), then scale -1 (min 1), then rollback {"toRevision":7} on service "db"; cooldown 1h30m',
    );
  });

  it('prints every problem on stderr and exits 1', async () => {
    const path = await file(
      'bad.yaml',
      `policies:
  - trigger: { metric: cpu_utilization, threshold: eighty, duration: 5m }
    actions: [{ type: reboot }]
    cooldwn: 10m
`,
    );
    const { code, stdout, stderr } = await run(path);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toEqual([
      `${path}:2:52: policies[0].trigger.threshold: expected a number, got "eighty"`,
      `${path}:3:23: policies[0].actions[0].type: expected one of "scale", "restart", "rollback", got "reboot"`,
      `${path}:4:5: policies[0].cooldwn: unknown key (did you mean "cooldown"?)`,
      `${path}: invalid (3 problems)`,
      '',
    ]);
  });

  it('reports a YAML syntax error with its position and exits 1', async () => {
    const path = await file('syntax.yaml', 'trigger:\n  metric: [m\nactions: []\n');
    const { code, stderr } = await run(path);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^${path}:\\d+:\\d+: \\(root\\): YAML syntax error: `));
  });

  it('exits 2 when the file cannot be read', async () => {
    const path = join(dir, 'missing.yaml');
    const { code, stdout, stderr } = await run(path);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${path}: cannot read policy file (ENOENT`);
  });
});

describe('policy validate --json', () => {
  it('prints the normalised policies', async () => {
    const { code, stdout, stderr } = await run('src/demo/example-policies.yaml', true);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const out = JSON.parse(stdout) as {
      valid: boolean;
      policies: { name: string; trigger: Record<string, unknown>; cooldownMs: number }[];
    };
    expect(out.valid).toBe(true);
    expect(out.policies.map((p) => p.name)).toHaveLength(6);
    expect(out.policies[0]).toMatchObject({
      name: 'api-cpu-scale-out',
      trigger: {
        metric: 'cpu_utilization',
        selector: [
          { label: 'service', op: '=~', value: 'api-.*' },
          { label: 'env', op: '!=', value: 'dev' },
        ],
        direction: 'above',
        inclusive: false,
        durationMs: 300_000,
        maxGapMs: 120_000,
        predict: { horizonMs: 600_000, probability: 0.8 },
      },
      target: { kind: 'deployment', name: '{{service}}', namespace: '{{namespace}}' },
      actions: [
        {
          type: 'scale',
          scale: { mode: 'relative', replicas: 2, minReplicas: 2, maxReplicas: 10 },
        },
      ],
      cooldownMs: 600_000,
      leadTimeMs: 180_000,
      forecastOnly: false,
      warnings: [],
    });
    // Compiled regexes are not data: only op and value are printed.
    const selector = out.policies[0]?.trigger['selector'] as Record<string, unknown>[];
    expect(selector.some((matcher) => 'regex' in matcher)).toBe(false);
  });

  it('prints the issues and exits 1', async () => {
    const path = await file(
      'bad.json',
      '{"trigger":{"metric":"m","threshold":"x","duration":"1m"},"actions":[]}',
    );
    const { code, stdout } = await run(path, true);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      file: path,
      valid: false,
      issues: [
        {
          path: 'trigger.threshold',
          segments: ['trigger', 'threshold'],
          message: 'expected a number, got "x"',
          value: 'x',
          line: 1,
          column: 38,
        },
        {
          path: 'actions',
          segments: ['actions'],
          message: 'must have at least 1 item(s), got []',
          value: [],
          line: 1,
          column: 69,
        },
      ],
    });
  });

  it('prints the read error and exits 2', async () => {
    const path = join(dir, 'missing.json');
    const { code, stdout } = await run(path, true);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({
      file: path,
      valid: false,
      error: expect.stringContaining('ENOENT') as unknown,
    });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1_500, '1s500ms'],
    [90_000, '1m30s'],
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
    [0.5, '0.5ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('describePolicy: a predictive scale-in', () => {
  it('names both its prediction and the forecast its scale-in keeps', () => {
    const [policy] = parsePolicies(
      `- name: in
  trigger:
    metric: cpu
    threshold: 63
    direction: below
    duration: 5m
    predict: { horizon: 10m, probability: 0.3 }
  leadTime: 3m
  reserve: { probability: 0.2 }
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 5m`,
      'in.yaml',
    );
    expect(describePolicy(policy as Policy)).toMatch(
      /; predicts 10m ahead at p≥0\.3, lead time 3m, sized not below the forecast's p80 for the next 3m$/,
    );
  });
});
