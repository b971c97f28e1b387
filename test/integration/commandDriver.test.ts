import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkExecutable,
  CommandDriver,
  CommandTargetSettingsSchema,
} from '../../src/adapters/targets/commandDriver.js';
import { HealcastError } from '../../src/errors.js';
import { driverContext as ctx, driverEnvelope, targetFailure } from '../helpers/targetDriverKit.js';

let dir: string;

/** Writes an executable script into the test's temp dir and returns its absolute path. */
function script(name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, mode);
  return path;
}

/** Prints `{ argv, env }` as JSON: what the program was really given. */
const REPORT_JS = `#!${process.execPath}
process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env: process.env }) + '\\n');
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'healcast-command-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function settings(executable: string, extra: Record<string, unknown> = {}) {
  return CommandTargetSettingsSchema.parse({ executable, ...extra });
}

function reportOf(details: Record<string, unknown> | undefined): {
  argv: string[];
  env: Record<string, string>;
} {
  return JSON.parse(String(details?.stdout)) as { argv: string[]; env: Record<string, string> };
}

/**
 * True while a process with this pid runs. A zombie counts as gone: once its parent shell is
 * killed, a killed child waits for init to reap it, and `kill(pid, 0)` still succeeds then.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

function envelope(type: Parameters<typeof driverEnvelope>[0] = 'scale') {
  return driverEnvelope(type, {
    policy: 'cpu-high',
    target: { kind: 'deployment', name: 'web' },
  });
}

describe('CommandDriver running real programs', () => {
  const executorEnv = {
    PATH: '/usr/bin:/bin',
    PASSED_THROUGH: 'yes',
    EXECUTOR_SECRET: 'must-not-leak',
    HOME: '/root',
  };

  it('passes each rendered argument as exactly one argv element, shell syntax literal', async () => {
    const marker = join(dir, 'pwned');
    const report = script('report-args.js', REPORT_JS);
    const action = envelope('scale');
    // [template, argv element the program must receive]
    const table: [string, string][] = [
      ['--id={{actionId}}', `--id=${action.actionId}`],
      ['{{type}}', 'scale'],
      ['--to={{ replicas }}', '--to=4'],
      [
        '{{policy}}/{{target.kind}}/{{target.name}}/{{target.namespace}}/{{trigger}}',
        'cpu-high/deployment/web//reactive',
      ],
      ...[
        `$(touch ${marker})`,
        `; touch ${marker}`,
        `\`touch ${marker}\` && touch ${marker}`,
        'two words',
        '"quoted" \'single\'',
        '*',
        '',
        '{"json":{"ok":true}}',
      ].map((literal): [string, string] => [literal, literal]),
    ];
    const result = await new CommandDriver({ env: executorEnv }).scale(
      settings(report, { args: table.map(([template]) => template), actions: ['scale'] }),
      4,
      ctx(action),
    );
    expect(reportOf(result.details).argv).toEqual(table.map(([, argument]) => argument));
    expect(existsSync(marker)).toBe(false);
    expect(result.details).toMatchObject({ exitCode: 0 });
  });

  it('gives the program only PATH, the listed variables and the HEALCAST_* ones', async () => {
    const report = script('report-env.js', REPORT_JS);
    const driver = new CommandDriver({ env: executorEnv });
    const target = settings(report, { env: ['PASSED_THROUGH', 'NOT_SET_ANYWHERE'] });
    const action = envelope('scale');

    const scaled = reportOf((await driver.scale(target, 3, ctx(action))).details).env;
    expect(scaled).toEqual({
      PATH: '/usr/bin:/bin',
      PASSED_THROUGH: 'yes',
      HEALCAST_ACTION_ID: action.actionId,
      HEALCAST_ACTION_TYPE: 'scale',
      HEALCAST_REPLICAS: '3',
      HEALCAST_ACTION: JSON.stringify(action),
    });

    const restart = envelope('restart');
    const restarted = reportOf((await driver.restart(target, ctx(restart))).details).env;
    expect(Object.keys(restarted).sort()).toEqual([
      'HEALCAST_ACTION',
      'HEALCAST_ACTION_ID',
      'HEALCAST_ACTION_TYPE',
      'PASSED_THROUGH',
      'PATH',
    ]);
    expect(JSON.parse(restarted.HEALCAST_ACTION ?? 'null')).toEqual(restart);
  });

  it('exit 0 succeeds with the first line of stdout as the summary', async () => {
    const ok = script('ok.sh', '#!/bin/sh\necho "restarted web in 2s"\necho "more detail"\n');
    const result = await new CommandDriver({ env: executorEnv }).restart(
      settings(ok),
      ctx(envelope('restart')),
    );
    expect(result.summary).toBe(`command ${ok} ran restart: restarted web in 2s`);
    expect(result.details).toMatchObject({
      exitCode: 0,
      stdout: 'restarted web in 2s\nmore detail\n',
    });
  });

  const exits: { code: number; retriable: boolean; extra?: Record<string, unknown> }[] = [
    { code: 75, retriable: true },
    { code: 3, retriable: false },
    { code: 1, retriable: false },
    { code: 9, retriable: true, extra: { retriableExitCodes: [9] } },
    { code: 75, retriable: false, extra: { retriableExitCodes: [9] } },
  ];
  for (const { code, retriable, extra } of exits) {
    it(`exit ${code} is ${retriable ? '' : 'not '}retriable with ${JSON.stringify(extra ?? 'defaults')}, stderr in the message`, async () => {
      const fail = script(
        `exit-${code}.sh`,
        `#!/bin/sh\necho "broke: ${code}" >&2\nexit ${code}\n`,
      );
      const { error } = await targetFailure(() =>
        new CommandDriver({ env: executorEnv }).rollback(
          settings(fail, extra),
          ctx(envelope('rollback')),
        ),
      );
      expect(error.retriable).toBe(retriable);
      expect(error.message).toContain(`exited with ${code}`);
      expect(error.message).toContain(`broke: ${code}`);
    });
  }

  it('caps captured output at 4 KiB per stream', async () => {
    const loud = script('loud.sh', '#!/bin/sh\nhead -c 10000 /dev/zero | tr "\\0" a\n');
    const result = await new CommandDriver({ env: executorEnv }).restart(
      settings(loud),
      ctx(envelope('restart')),
    );
    expect(result.details?.stdout).toBe(`${'a'.repeat(4096)}… [5904 more bytes]`);
  });

  it('stops an overrunning command with SIGTERM, its children too, retriable', async () => {
    const pidFile = join(dir, 'child.pid');
    const slow = script('slow.sh', `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`);
    const { error, elapsedMs } = await targetFailure(() =>
      new CommandDriver({ env: executorEnv }).restart(
        settings(slow, { timeout: '300ms' }),
        ctx(envelope('restart')),
      ),
    );
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('timed out after 300ms');
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(1_900);
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    expect(childPid).toBeGreaterThan(0);
    expect(alive(childPid)).toBe(false);
  });

  it('SIGKILLs a command that ignores SIGTERM, 2s later', async () => {
    const stubborn = script('stubborn.sh', "#!/bin/sh\ntrap '' TERM\nsleep 30\n");
    const { error, elapsedMs } = await targetFailure(() =>
      new CommandDriver({ env: executorEnv }).restart(
        settings(stubborn, { timeout: '200ms' }),
        ctx(envelope('restart')),
      ),
    );
    expect(error.retriable).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(2_150);
    expect(elapsedMs).toBeLessThan(4_000);
  });

  it("stops when the executor's signal aborts, retriable", async () => {
    const slow = script('slow-abort.sh', '#!/bin/sh\nexec sleep 30\n');
    const abort = new AbortController();
    const call = new CommandDriver({ env: executorEnv }).restart(
      settings(slow),
      ctx(envelope('restart'), abort.signal),
    );
    setTimeout(() => abort.abort(), 100);
    const { error } = await targetFailure(() => call);
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('aborted by the executor');
  });

  it('a command that leaves a daemon holding its output is done when it exits', async () => {
    const starter = script('starter.sh', '#!/bin/sh\nsleep 10 &\necho "started $!"\n');
    const started = performance.now();
    const result = await new CommandDriver({ env: executorEnv }).restart(
      settings(starter, { timeout: '5s' }),
      ctx(envelope('restart')),
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    const daemonPid = Number(/started (\d+)/.exec(result.summary)?.[1]);
    expect(alive(daemonPid)).toBe(true);
    process.kill(daemonPid, 'SIGKILL');
  });

  it('a missing or non-executable program is not retriable', async () => {
    const driver = new CommandDriver({ env: executorEnv });
    const { error: missing } = await targetFailure(() =>
      driver.restart(settings(join(dir, 'no-such-program')), ctx(envelope('restart'))),
    );
    expect(missing.retriable).toBe(false);
    expect(missing.message).toContain('ENOENT');
    const notExecutable = script('not-executable.sh', '#!/bin/sh\nexit 0\n', 0o644);
    const { error: denied } = await targetFailure(() =>
      driver.restart(settings(notExecutable), ctx(envelope('restart'))),
    );
    expect(denied.retriable).toBe(false);
    expect(denied.message).toContain('EACCES');
  });

  it('refuses an action type the target does not accept, without running it', async () => {
    const marker = join(dir, 'ran');
    const touch = script('touch.sh', `#!/bin/sh\ntouch ${marker}\n`);
    const driver = new CommandDriver({ env: executorEnv });
    const only = settings(touch, { actions: ['restart'] });
    expect(driver.supports(only, 'restart')).toBe(true);
    expect(driver.supports(only, 'scale')).toBe(false);
    const { error } = await targetFailure(() => driver.scale(only, 2, ctx(envelope('scale'))));
    expect(error.retriable).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(await driver.observe(only, ctx(envelope('scale')))).toEqual({});
  });
});

describe('checkExecutable', () => {
  it('accepts an executable file', async () => {
    await expect(checkExecutable(script('fine.sh', '#!/bin/sh\n'))).resolves.toBeUndefined();
  });

  const bad: { name: string; path: () => string; reason: RegExp }[] = [
    { name: 'a missing file', path: () => join(dir, 'absent'), reason: /no such file/ },
    {
      name: 'a directory',
      path: () => {
        const sub = join(dir, 'a-directory');
        mkdirSync(sub, { recursive: true });
        return sub;
      },
      reason: /is not a regular file/,
    },
    {
      name: 'a file without an execute bit',
      path: () => script('plain.txt', 'hello', 0o644),
      reason: /is not executable/,
    },
    { name: 'a relative path', path: () => 'bin/tool', reason: /must be an absolute path/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} with a config error naming it`, async () => {
      const path = c.path();
      const error: unknown = await checkExecutable(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HealcastError);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', retriable: false });
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(c.reason);
    });
  }
});
