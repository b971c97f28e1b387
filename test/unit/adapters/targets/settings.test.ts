import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CommandTargetSettingsSchema } from '../../../../src/adapters/targets/commandDriver.js';
import { WebhookTargetSettingsSchema } from '../../../../src/adapters/targets/webhookDriver.js';

const HOOK = { url: 'https://hooks.example.com/heal', secretEnv: 'HOOK_SECRET' };
const CMD = { executable: '/usr/local/bin/heal' };

interface Refusal {
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** Matched against each issue written as `path: message`: says where and why. */
  readonly issue: RegExp;
}

/** One test per row: the schema refuses `input` with an issue matching `issue`. */
function refusals(schema: z.ZodType, rows: readonly Refusal[]): void {
  for (const row of rows) {
    it(`refuses ${row.name}`, () => {
      const issues = (schema.safeParse(row.input).error?.issues ?? []).map(
        (i) => `${i.path.map(String).join('.')}: ${i.message}`,
      );
      expect(
        issues.some((issue) => row.issue.test(issue)),
        issues.join('\n'),
      ).toBe(true);
    });
  }
}

describe('WebhookTargetSettingsSchema', () => {
  it('fills the defaults: 5s timeout, every action, no extra headers', () => {
    expect(WebhookTargetSettingsSchema.parse(HOOK)).toEqual({
      ...HOOK,
      timeoutMs: 5_000,
      actions: ['scale', 'restart', 'rollback'],
      headers: {},
    });
  });

  it('reads a duration and a subset of actions (in envelope order, once each)', () => {
    const parsed = WebhookTargetSettingsSchema.parse({
      ...HOOK,
      timeout: '1m30s',
      actions: ['rollback', 'scale', 'scale'],
      headers: { 'X-Route': 'blue' },
    });
    expect(parsed.timeoutMs).toBe(90_000);
    expect(parsed.actions).toEqual(['scale', 'rollback']);
    expect(parsed.headers).toEqual({ 'X-Route': 'blue' });
  });

  const bad: Refusal[] = [
    { name: 'no secret', input: { url: HOOK.url }, issue: /^secretEnv: / },
    {
      name: 'a secret name that is no env var',
      input: { ...HOOK, secretEnv: 'my-secret' },
      issue: /^secretEnv: must be an environment variable name/,
    },
    {
      name: 'another scheme',
      input: { ...HOOK, url: 'ftp://x/y' },
      issue: /^url: must be an http/,
    },
    { name: 'no URL at all', input: { ...HOOK, url: 'hooks.example.com' }, issue: /^url: / },
    {
      name: 'a zero timeout',
      input: { ...HOOK, timeout: '0s' },
      issue: /^timeout: must be longer than 0/,
    },
    {
      name: 'a timeout that is no duration',
      input: { ...HOOK, timeout: 'soon' },
      issue: /^timeout: invalid duration/,
    },
    { name: 'an unknown action', input: { ...HOOK, actions: ['delete'] }, issue: /^actions\.0: / },
    { name: 'no action', input: { ...HOOK, actions: [] }, issue: /^actions: list at least one/ },
    {
      name: 'a header replacing the signature',
      input: { ...HOOK, headers: { 'x-healcast-signature': 'x' } },
      issue: /^headers\.x-healcast-signature: is set by healcast/,
    },
    {
      name: 'a header replacing the idempotency key',
      input: { ...HOOK, headers: { 'Idempotency-Key': 'x' } },
      issue: /^headers\.Idempotency-Key: is set by healcast/,
    },
    {
      name: 'a header value with a line break',
      input: { ...HOOK, headers: { 'X-A': 'a\r\nX-B: b' } },
      issue: /^headers\.X-A: must not contain line breaks/,
    },
    {
      name: 'a header name with a space',
      input: { ...HOOK, headers: { 'X A': 'a' } },
      issue: /^headers\.X A: must be an HTTP header name/,
    },
    { name: 'a typo', input: { ...HOOK, timout: '5s' }, issue: /timout/ },
  ];
  refusals(WebhookTargetSettingsSchema, bad);
});

describe('CommandTargetSettingsSchema', () => {
  it('fills the defaults: no args, every action, 30s, exit 75 retriable, no env', () => {
    expect(CommandTargetSettingsSchema.parse(CMD)).toEqual({
      ...CMD,
      args: [],
      actions: ['scale', 'restart', 'rollback'],
      timeoutMs: 30_000,
      retriableExitCodes: [75],
      env: [],
    });
  });

  it('compiles the argument templates', () => {
    const parsed = CommandTargetSettingsSchema.parse({
      ...CMD,
      args: ['--id={{actionId}}', '{{ target.namespace }}'],
    });
    expect(parsed.args.map((arg) => arg.source)).toEqual([
      '--id={{actionId}}',
      '{{ target.namespace }}',
    ]);
    expect(parsed.args[1]?.parts).toEqual([{ kind: 'placeholder', name: 'target.namespace' }]);
  });

  it('accepts {{replicas}} in a scale-only command', () => {
    const parsed = CommandTargetSettingsSchema.parse({
      ...CMD,
      args: ['--to={{replicas}}'],
      actions: ['scale'],
    });
    expect(parsed.actions).toEqual(['scale']);
  });

  const bad: Refusal[] = [
    {
      name: 'a relative executable',
      input: { executable: 'bin/heal' },
      issue: /^executable: must be an absolute path/,
    },
    {
      name: 'a bare program name',
      input: { executable: 'kubectl' },
      issue: /^executable: must be an absolute path/,
    },
    {
      name: 'an unknown placeholder',
      input: { ...CMD, args: ['ok', '{{service}}'] },
      issue: /^args\.1: invalid argument template: unknown placeholder "\{\{service\}\}"/,
    },
    {
      name: 'an unclosed placeholder',
      input: { ...CMD, args: ['{{actionId'] },
      issue: /^args\.0: invalid argument template: .*without a closing/,
    },
    {
      name: '{{replicas}} with every action (the default)',
      input: { ...CMD, args: ['{{replicas}}'] },
      issue:
        /^args\.0: \{\{replicas\}\} only has a value for scale, but this command also runs restart, rollback/,
    },
    {
      name: '{{replicas}} with restart',
      input: { ...CMD, args: ['-n', '{{replicas}}'], actions: ['scale', 'restart'] },
      issue: /^args\.1: .*also runs restart: set actions: \[scale\], or read \$HEALCAST_REPLICAS/,
    },
    {
      name: 'exit code 0 as retriable',
      input: { ...CMD, retriableExitCodes: [0] },
      issue: /^retriableExitCodes\.0: /,
    },
    {
      name: 'an exit code above 255',
      input: { ...CMD, retriableExitCodes: [256] },
      issue: /^retriableExitCodes\.0: /,
    },
    {
      name: 'an env name the executor sets',
      input: { ...CMD, env: ['HEALCAST_ACTION'] },
      issue: /^env\.0: is set by the executor/,
    },
    {
      name: 'an env entry that is no name',
      input: { ...CMD, env: ['A=B'] },
      issue: /^env\.0: must be an environment variable name/,
    },
    {
      name: 'a zero timeout',
      input: { ...CMD, timeout: 0 },
      issue: /^timeout: must be longer than 0/,
    },
    {
      name: 'a shell string instead of args',
      input: { ...CMD, command: 'heal --now' },
      issue: /command/,
    },
  ];
  refusals(CommandTargetSettingsSchema, bad);
});
