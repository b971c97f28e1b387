import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import { RedisActionSink } from '../../src/adapters/redis/redisActionSink.js';
import {
  buildExecutorConfig,
  requireRedis,
  type RedisExecutorConfig,
} from '../../src/config/assembleExecutor.js';
import type { ExecutorConfigInput } from '../../src/config/executorConfig.js';
import {
  ACTION_SCHEMA_VERSION,
  cooldownKeyOf,
  type ActionEnvelope,
  type Fire,
} from '../../src/dispatch/envelope.js';
import { redisKeys, type RedisKeys } from '../../src/dispatch/keys.js';
import { OutcomeSchema, type Outcome } from '../../src/execute/outcome.js';
import { startExecutor, type RunningExecutor } from '../../src/main.js';
import { silentLogger } from './fakes.js';
import { tempFile, uniqueName, waitFor } from './integration.js';

let counter = 0;

/** An action envelope as the worker would enqueue it (fresh ids, decided now). */
export function actionEnvelope(overrides: Partial<ActionEnvelope> = {}): ActionEnvelope {
  const id = uniqueName(`act${++counter}`);
  const now = Date.now();
  return {
    schema: ACTION_SCHEMA_VERSION,
    actionId: `${id}:0`,
    fireId: id,
    actionIndex: 0,
    policy: 'test-policy',
    target: { kind: 'service', name: 'web' },
    type: 'scale',
    parameters: { replicas: '+2' },
    scale: { mode: 'relative', replicas: 2 },
    trigger: 'reactive',
    evidence: {
      series: 'cpu{service="web"}',
      metric: 'cpu',
      labels: { service: 'web' },
      value: 91,
      threshold: 80,
      direction: 'above',
      breachStartMs: now - 60_000,
      breachDurationMs: 60_000,
      baselineMean: null,
      baselineLower: null,
      baselineUpper: null,
      anomalyScore: 0.5,
    },
    observedAtMs: now,
    decidedAtMs: now,
    cooldownMs: 0,
    ...overrides,
  };
}

/** Redis access of one test: its own key prefix, the worker's real sink, raw stream reads. */
export class ExecutorTestbed {
  readonly prefix = uniqueName('exec');
  readonly keys: RedisKeys = redisKeys(this.prefix);
  readonly redis: Redis;
  private readonly sink: RedisActionSink;
  private readonly executors: RunningExecutor[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(readonly redisUrl: string) {
    this.redis = new Redis(redisUrl);
    this.sink = new RedisActionSink({
      url: redisUrl,
      keys: this.keys,
      markerTtlMs: 3_600_000,
      streamMaxLen: 100_000,
    });
  }

  async connect(): Promise<void> {
    await this.sink.connect();
  }

  /** Enqueues actions exactly as the worker does (one fire each). */
  async enqueue(...envelopes: ActionEnvelope[]): Promise<void> {
    const fires: Fire[] = envelopes.map((e) => ({
      fireId: e.fireId,
      policy: e.policy,
      cooldownKey: cooldownKeyOf(e.policy, e.target),
      observedAtMs: e.observedAtMs,
      cooldownMs: 0,
      actions: [e],
    }));
    await this.sink.enqueue(fires);
  }

  /** An executor config on this test's prefix (validated like the real one). */
  config(
    input: Omit<ExecutorConfigInput, 'redis'> & {
      redis?: Partial<NonNullable<ExecutorConfigInput['redis']>>;
    },
  ): RedisExecutorConfig {
    return requireRedis(
      buildExecutorConfig({
        consumer: { name: uniqueName('executor') },
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'fatal' },
        visibilityTimeout: '2s',
        retry: { maxAttempts: 3, initialBackoff: '50ms', maxBackoff: '200ms' },
        ...input,
        redis: { url: this.redisUrl, keyPrefix: this.prefix, ...input.redis },
      }),
    );
  }

  async startExecutor(config: RedisExecutorConfig): Promise<RunningExecutor> {
    const running = await startExecutor(config, silentLogger());
    this.executors.push(running);
    return running;
  }

  /** Runs `healcast executor` as a child process (for kill -9 tests). */
  spawnExecutor(config: RedisExecutorConfig, env: Record<string, string> = {}): ChildProcess {
    const file = tempFile('executor.yaml', toYaml(JSON.parse(JSON.stringify(config)) as unknown));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/entry.ts', 'executor', '--config', file],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.resume();
    child.stderr?.resume();
    this.children.push(child);
    return child;
  }

  async outcomes(): Promise<Outcome[]> {
    const entries = await this.redis.xrange(this.keys.outcomesStream, '-', '+');
    return entries.map(([, fields]) => OutcomeSchema.parse(JSON.parse(field(fields, 'outcome'))));
  }

  /** Waits for the outcome of an action with `status` (any when omitted). */
  async outcomeOf(
    actionId: string,
    status?: Outcome['status'],
    timeoutMs = 30_000,
  ): Promise<Outcome> {
    return waitFor(
      `outcome of ${actionId}${status ? ` (${status})` : ''}`,
      async () =>
        (await this.outcomes()).find(
          (o) => o.actionId === actionId && (status === undefined || o.status === status),
        ),
      timeoutMs,
    );
  }

  async stream(key: string): Promise<Record<string, string>[]> {
    const entries = await this.redis.xrange(key, '-', '+');
    return entries.map(([, fields]) => Object.fromEntries(pairs(fields)));
  }

  /** Entries of the actions stream not yet acknowledged by the executor group. */
  async pendingCount(group = 'healcast-executor'): Promise<number> {
    const reply = (await this.redis.xpending(this.keys.actionsStream, group)) as [
      number,
      ...unknown[],
    ];
    return reply[0];
  }

  async close(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.allSettled(this.executors.map((e) => e.stop()));
    await this.sink.close();
    this.redis.disconnect();
  }
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

function field(flat: string[], name: string): string {
  const found = pairs(flat).find(([k]) => k === name);
  if (found === undefined) throw new Error(`no field ${name}`);
  return found[1];
}

/** Writes an executable script (for command targets) and returns its path. */
export function scriptFile(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body, { mode: 0o755 });
  return path;
}
