/**
 * CommandDriver — the TargetDriver port over an allow-listed executable: each action runs
 * one configured program with arguments filled from the action.
 *
 * Never through a shell: the program is started directly (`shell: false`) and every rendered
 * argument is exactly one argv element, whatever it contains (`$(rm -rf /)`, `;`, spaces and
 * quotes stay literal). The environment is minimal (PATH, the names listed in `env`, and the
 * HEALCAST_* variables), so the executor's own secrets do not leak into the command.
 *
 * Outcome: exit 0 succeeded; an exit code in `retriableExitCodes` (default 75, EX_TEMPFAIL
 * from sysexits.h) and a timeout may pass later; any other exit code, death by a signal the
 * driver did not send, and a program that cannot be started (ENOENT, EACCES) never will.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { formatDurationMs } from '../../config/duration.js';
import type { ActionEnvelope } from '../../dispatch/envelope.js';
import { HealcastError, TargetError } from '../../errors.js';
import type {
  DriverContext,
  EffectReport,
  ObserveContext,
  TargetDriver,
  TargetObservation,
} from '../../execute/targetDriver.js';
import {
  AcceptedActionsSchema,
  assertAccepts,
  EnvVarNameSchema,
  timeoutMsSchema,
} from './settingsFields.js';
import { parseArgTemplate, renderArgTemplate, usesPlaceholder } from './template.js';

/** The placeholders an argument template may use. */
export const COMMAND_PLACEHOLDERS = [
  'actionId',
  'type',
  'replicas',
  'policy',
  'target.kind',
  'target.name',
  'target.namespace',
  'trigger',
] as const;
export type CommandPlaceholder = (typeof COMMAND_PLACEHOLDERS)[number];

/** Default time a command may run. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** Between SIGTERM and SIGKILL when a command overruns: time to clean up, not to finish. */
export const KILL_GRACE_MS = 2_000;
/** How much of stdout and of stderr is kept, each. */
export const OUTPUT_CAP_BYTES = 4096;
/**
 * After the program exits, how long its output pipes may stay open. A program that starts a
 * daemon without redirecting its output leaves the pipes open in the daemon; the action is
 * over when the program exits, not when the daemon does.
 */
const PIPE_DRAIN_MS = 500;

/** Set by the driver for every command; `env` may not list them. */
const HEALCAST_ENV = [
  'HEALCAST_ACTION_ID',
  'HEALCAST_ACTION_TYPE',
  'HEALCAST_REPLICAS',
  'HEALCAST_ACTION',
] as const;

/** Start-up errors that mean the program can never run as configured. */
const PERMANENT_SPAWN_ERRORS: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'ENOTDIR']);

const ArgTemplateSchema = z.string().transform((source, ctx) => {
  const parsed = parseArgTemplate(source, COMMAND_PLACEHOLDERS);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: `invalid argument template: ${parsed.error}` });
    return z.NEVER;
  }
  return parsed.value;
});

/**
 * Settings of a command target in the executor config. `args` are templates compiled at
 * load (an unknown placeholder is an error there, not at the first action); `timeout` comes
 * out as `timeoutMs`.
 *
 * `{{replicas}}` only has a value for scale, so it may only appear in a command whose
 * `actions` are exactly `[scale]`: rendering it empty for a restart would run the command
 * with an argument the author did not mean, and failing at the first restart would be found
 * out late. A command that serves several types reads `$HEALCAST_REPLICAS` instead.
 */
export const CommandTargetSettingsSchema = z
  .strictObject({
    /** Absolute path of the program: the allow-list names one file; PATH is not searched. */
    executable: z.string().refine(isAbsolute, 'must be an absolute path (PATH is not searched)'),
    /** Argument templates; each renders to exactly one argv element. */
    args: z.array(ArgTemplateSchema).default([]),
    /** Action types this command carries out (default all). */
    actions: AcceptedActionsSchema,
    /** How long the command may run before SIGTERM (then SIGKILL 2s later). Default 30s. */
    timeout: timeoutMsSchema(DEFAULT_COMMAND_TIMEOUT_MS),
    /** Exit codes that mean "try again later" (default [75], EX_TEMPFAIL). */
    retriableExitCodes: z.array(z.number().int().min(1).max(255)).default([75]),
    /** Names of the executor's environment variables passed through to the command. */
    env: z
      .array(
        EnvVarNameSchema.refine(
          (name) => !(HEALCAST_ENV as readonly string[]).includes(name),
          `is set by the executor for every command (${HEALCAST_ENV.join(', ')})`,
        ),
      )
      .default([]),
  })
  .transform((s, ctx) => {
    const others = s.actions.filter((type) => type !== 'scale');
    s.args.forEach((arg, index) => {
      if (others.length > 0 && usesPlaceholder(arg, 'replicas')) {
        ctx.addIssue({
          code: 'custom',
          path: ['args', index],
          message:
            `{{replicas}} only has a value for scale, but this command also runs ${others.join(', ')}: ` +
            'set actions: [scale], or read $HEALCAST_REPLICAS (set for scale only) in the command',
        });
      }
    });
    return {
      executable: s.executable,
      args: s.args,
      actions: s.actions,
      /** Milliseconds before the command is stopped. */
      timeoutMs: s.timeout,
      retriableExitCodes: s.retriableExitCodes,
      env: s.env,
    };
  });
export type CommandTargetSettings = z.infer<typeof CommandTargetSettingsSchema>;

/**
 * Checks that `path` can be run: absolute, exists, a regular file, executable by this
 * process. The executor calls it for every command target at start-up, so a bad allow-list
 * fails the start instead of the first action. Throws `HealcastError` CONFIG_INVALID.
 */
export async function checkExecutable(path: string): Promise<void> {
  const refuse = (reason: string, cause?: unknown) =>
    new HealcastError('CONFIG_INVALID', `command executable ${path} ${reason}`, {
      retriable: false,
      cause,
    });
  if (!isAbsolute(path)) throw refuse('must be an absolute path (PATH is not searched)');
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    throw refuse(
      `cannot be used: ${errorCode(error) === 'ENOENT' ? 'no such file' : String(error)}`,
      error,
    );
  }
  if (!isFile) throw refuse('is not a regular file');
  try {
    await access(path, constants.X_OK);
  } catch (error) {
    throw refuse('is not executable by this process (check its mode and owner)', error);
  }
}

/** Dependencies of the command driver; production defaults when left out. */
export interface CommandDriverOptions {
  /** The executor's environment: PATH and `env` names are taken from it (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The command target (see the file comment for the contract). */
export class CommandDriver implements TargetDriver<CommandTargetSettings> {
  readonly type = 'command' as const;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(options: CommandDriverOptions = {}) {
    this.env = options.env ?? process.env;
  }

  supports(settings: CommandTargetSettings, action: ActionEnvelope['type']): boolean {
    return settings.actions.includes(action);
  }

  /** A command's effect cannot be observed: the executor passes `actionId` on instead. */
  observe(_settings: CommandTargetSettings, _ctx: ObserveContext): Promise<TargetObservation> {
    return Promise.resolve({});
  }

  scale(settings: CommandTargetSettings, replicas: number, ctx: DriverContext) {
    return this.run(settings, 'scale', replicas, ctx);
  }

  restart(settings: CommandTargetSettings, ctx: DriverContext) {
    return this.run(settings, 'restart', undefined, ctx);
  }

  rollback(settings: CommandTargetSettings, ctx: DriverContext) {
    return this.run(settings, 'rollback', undefined, ctx);
  }

  /** Commands hold nothing open between actions. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async run(
    settings: CommandTargetSettings,
    type: ActionEnvelope['type'],
    replicas: number | undefined,
    ctx: DriverContext,
  ): Promise<EffectReport> {
    const where = `command ${settings.executable}`;
    assertAccepts(settings.actions, type, where);
    const argv = renderArgs(settings, type, replicas, ctx);
    const env = this.commandEnv(settings, type, replicas, ctx);
    if (ctx.signal.aborted) {
      throw new TargetError(`${where}: ${type} aborted by the executor before it started`, {
        retriable: true,
      });
    }
    let result: ProcessResult;
    try {
      result = await runProcess(settings.executable, argv, env, settings.timeoutMs, ctx.signal);
    } catch (error) {
      const code = errorCode(error);
      throw new TargetError(`${where} could not be started for ${type}: ${String(error)}`, {
        retriable: code === undefined || !PERMANENT_SPAWN_ERRORS.has(code),
        cause: error,
      });
    }
    const details = {
      args: argv,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      stdout: result.stdout,
      stderr: result.stderr,
    };
    const output = (result.stderr.trim() || result.stdout.trim()).slice(0, OUTPUT_CAP_BYTES);
    const said = output === '' ? '' : `: ${JSON.stringify(output)}`;
    if (result.stoppedBecause !== undefined) {
      const why =
        result.stoppedBecause === 'timeout'
          ? `timed out after ${formatDurationMs(settings.timeoutMs)}`
          : 'was aborted by the executor';
      throw new TargetError(`${where} ${why} running ${type} and was stopped${said}`, {
        retriable: true,
      });
    }
    if (result.exitCode === 0) {
      const firstLine = result.stdout.trim().split('\n', 1)[0] ?? '';
      return {
        summary: `${where} ran ${type}${firstLine === '' ? '' : `: ${firstLine}`}`,
        details,
      };
    }
    if (result.exitCode === null) {
      throw new TargetError(
        `${where} was killed by ${result.signal ?? 'a signal'} running ${type}${said}`,
        {
          retriable: false,
        },
      );
    }
    const retriable = settings.retriableExitCodes.includes(result.exitCode);
    throw new TargetError(
      `${where} exited with ${result.exitCode} running ${type} ` +
        `(${retriable ? 'retriable' : 'not retriable'})${said}`,
      { retriable },
    );
  }

  /** PATH, the passed-through names that are set, and the action. Nothing else. */
  private commandEnv(
    settings: CommandTargetSettings,
    type: ActionEnvelope['type'],
    replicas: number | undefined,
    ctx: DriverContext,
  ): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of ['PATH', ...settings.env]) {
      const value = this.env[name];
      if (value !== undefined) env[name] = value;
    }
    env.HEALCAST_ACTION_ID = ctx.actionId;
    env.HEALCAST_ACTION_TYPE = type;
    if (replicas !== undefined) env.HEALCAST_REPLICAS = String(replicas);
    env.HEALCAST_ACTION = JSON.stringify(ctx.envelope);
    return env;
  }
}

function renderArgs(
  settings: CommandTargetSettings,
  type: ActionEnvelope['type'],
  replicas: number | undefined,
  ctx: DriverContext,
): string[] {
  const { envelope } = ctx;
  if (replicas === undefined && settings.args.some((arg) => usesPlaceholder(arg, 'replicas'))) {
    // The schema refuses this combination; only settings built by hand get here.
    throw new TargetError(`command ${settings.executable}: {{replicas}} has no value for ${type}`, {
      retriable: false,
    });
  }
  const values: Record<CommandPlaceholder, string> = {
    actionId: ctx.actionId,
    type,
    replicas: replicas === undefined ? '' : String(replicas),
    policy: envelope.policy,
    'target.kind': envelope.target.kind,
    'target.name': envelope.target.name,
    // Optional in the envelope (PM2 apps have none): rendered empty, like an unset variable.
    'target.namespace': envelope.target.namespace ?? '',
    trigger: envelope.trigger,
  };
  return settings.args.map((arg) => renderArgTemplate(arg, values));
}

/** What a finished (or stopped) process left behind. */
interface ProcessResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the driver stopped the process. */
  readonly stoppedBecause: 'timeout' | 'aborted' | undefined;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Keeps the first `OUTPUT_CAP_BYTES` of a stream and counts the rest. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  add(chunk: Buffer): void {
    const keep = Math.max(0, Math.min(OUTPUT_CAP_BYTES - this.kept, chunk.length));
    if (keep > 0) this.chunks.push(chunk.subarray(0, keep));
    this.kept += keep;
    this.dropped += chunk.length - keep;
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${text}… [${this.dropped} more bytes]` : text;
  }
}

/**
 * Runs `file` directly (no shell) in its own process group, so that stopping it also stops
 * whatever it started (`sh` waiting on `sleep` would otherwise leave `sleep` running and the
 * pipes open). Rejects only when the process cannot be started.
 */
function runProcess(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const startedMs = performance.now();
    const child = spawn(file, args, {
      shell: false,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout = new CappedOutput();
    const stderr = new CappedOutput();
    child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));

    let stoppedBecause: ProcessResult['stoppedBecause'];
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone, which is what the kill was for.
      }
    };
    const stop = (reason: 'timeout' | 'aborted') => {
      if (stoppedBecause !== undefined) return;
      stoppedBecause = reason;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timeoutTimer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanUp = () => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      signal.removeEventListener('abort', onAbort);
    };

    child.once('error', (error) => {
      cleanUp();
      reject(error);
    });
    child.once('exit', () => {
      // The program is done: from here on only its output is collected, so neither the
      // timeout nor an abort may kill what it left running (a daemon it started on purpose).
      clearTimeout(timeoutTimer);
      signal.removeEventListener('abort', onAbort);
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_DRAIN_MS);
    });
    child.once('close', (exitCode, exitSignal) => {
      cleanUp();
      resolve({
        exitCode,
        signal: exitSignal,
        stoppedBecause,
        durationMs: Math.round(performance.now() - startedMs),
        stdout: stdout.text(),
        stderr: stderr.text(),
      });
    });
  });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
