import { hostname, userInfo } from 'node:os';
import {
  buildExecutorConfig,
  executorEnvironmentLayer,
  requireRedis,
  type RedisExecutorConfig,
} from '../config/assembleExecutor.js';
import { redisKeys } from '../dispatch/keys.js';
import { fileLayer } from '../adapters/fsConfigFile.js';
import { RedisExecutorAdmin } from '../adapters/redis/redisExecutorAdmin.js';
import { startExecutor } from '../main.js';
import { createLogger } from '../observability/logger.js';
import { numberOrText } from './run.js';

/** Options shared by the executor commands (strings until validated). */
export interface ExecutorFlags {
  config?: string;
  redis?: string;
  name?: string;
  dryRun?: boolean;
  port?: string;
  host?: string;
  logLevel?: string;
}

interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** defaults < file < environment < flags, like `healcast run`. */
export async function resolveExecutorConfig(
  flags: ExecutorFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<RedisExecutorConfig> {
  const layer: Record<string, unknown> = {
    ...(flags.redis === undefined ? {} : { redis: { url: flags.redis } }),
    ...(flags.name === undefined ? {} : { consumer: { name: flags.name } }),
    ...(flags.dryRun ? { dryRun: true } : {}),
    http: { host: flags.host, port: numberOrText(flags.port) },
    log: { level: flags.logLevel },
  };
  return requireRedis(
    buildExecutorConfig(await fileLayer(flags.config), executorEnvironmentLayer(env), layer),
  );
}

/** `healcast executor`: consume the actions stream until SIGTERM/SIGINT. */
export async function executorCommand(flags: ExecutorFlags): Promise<number> {
  const config = await resolveExecutorConfig(flags, process.env);
  const log = createLogger({ level: config.log.level });
  const running = await startExecutor(config, log);
  const base = `http://${config.http.host}:${running.httpPort}`;
  process.stderr.write(
    `\nhealcast executor "${config.consumer.name}" is running${config.dryRun ? ' in DRY RUN (nothing is changed)' : ''}.\n` +
      `  actions from ${config.redis.url} (${redisKeys(config.redis.keyPrefix).actionsStream}, group ${config.consumer.group})\n` +
      `  ${config.targets.length} allow-listed target(s)\n  metrics: ${base}/metrics  readiness: ${base}/readyz\n\n`,
  );
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (reason: string): void => {
      if (stopping) process.exit(130);
      stopping = true;
      log.info(
        { event: 'shutdown_started', reason },
        `shutting down (${reason}): finishing in-flight actions`,
      );
      running.stop().then(
        () => resolveExit(0),
        (error: unknown) => {
          log.error({ event: 'shutdown_failed', error: String(error) }, 'shutdown failed');
          resolveExit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

function who(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return by.trim();
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}

async function withAdmin<T>(
  flags: ExecutorFlags,
  fn: (admin: RedisExecutorAdmin) => Promise<T>,
): Promise<T> {
  const config = await resolveExecutorConfig(flags, process.env);
  const admin = new RedisExecutorAdmin(
    config.redis.url,
    redisKeys(config.redis.keyPrefix),
    config.redis.markerTtl,
  );
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** `healcast approve|reject <action-id>`. */
export async function decideCommand(
  actionId: string,
  decision: 'approved' | 'rejected',
  flags: ExecutorFlags & { by?: string; reason?: string },
  io: Io,
): Promise<number> {
  const by = who(flags.by);
  await withAdmin(flags, (admin) =>
    admin.decide(actionId, decision, by, flags.reason ?? '', Date.now()),
  );
  io.stdout(
    decision === 'approved'
      ? `approved ${actionId} (by ${by}); the executor carries it out now\n`
      : `rejected ${actionId} (by ${by}); the executor records it as skipped\n`,
  );
  return 0;
}

/** `healcast approvals`: what waits for a human. */
export async function approvalsCommand(
  flags: ExecutorFlags & { json?: boolean },
  io: Io,
): Promise<number> {
  const pending = await withAdmin(flags, (admin) => admin.pending());
  if (flags.json) {
    io.stdout(`${JSON.stringify(pending, null, 2)}\n`);
    return 0;
  }
  if (pending.length === 0) {
    io.stdout('nothing waits for a human\n');
    return 0;
  }
  for (const p of pending) {
    io.stdout(
      `${p.actionId}  ${new Date(p.deferredAtMs).toISOString()}  ${p.reason}  ${p.message}\n`,
    );
  }
  io.stdout(
    `\napprove with: healcast approve <action-id>   reject with: healcast reject <action-id>\n`,
  );
  return 0;
}

/** `healcast killswitch on|off|status`. */
export async function killSwitchCommand(
  state: string,
  flags: ExecutorFlags & { by?: string; reason?: string },
  io: Io,
): Promise<number> {
  if (state !== 'on' && state !== 'off' && state !== 'status') {
    io.stderr(`healcast killswitch: expected on, off or status, got ${JSON.stringify(state)}\n`);
    return 2;
  }
  return withAdmin(flags, async (admin) => {
    if (state !== 'status')
      await admin.setKillSwitch(state === 'on', who(flags.by), flags.reason ?? '', Date.now());
    const now = await admin.killSwitch();
    io.stdout(
      now.on
        ? `kill switch is ON${now.by ? ` (set by ${now.by}${now.atMs ? ` at ${new Date(now.atMs).toISOString()}` : ''}${now.reason ? `: ${now.reason}` : ''})` : ''}: executors act on nothing\n`
        : 'kill switch is off\n',
    );
    return 0;
  });
}
