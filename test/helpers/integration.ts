import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { buildWorkerConfig } from '../../src/config/assemble.js';
import type { WorkerConfig } from '../../src/config/workerConfig.js';

const { Kafka: KafkaClass, logLevel } = kafkajs;

/** A name unique to this test run, safe for topics, groups and Redis prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A quiet kafkajs client for test producers/consumers/admin. */
export function testKafka(brokers: string): Kafka {
  return new KafkaClass({
    clientId: uniqueName('test'),
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
}

/** Creates topics and waits until they have leaders. */
export async function createTopics(
  admin: Admin,
  topics: { topic: string; numPartitions: number }[],
): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: true });
}

/** Sum of (high watermark − committed offset) of `group` over `topic`. */
export async function groupLag(admin: Admin, group: string, topic: string): Promise<number> {
  const [high, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committedByPartition = new Map<number, bigint>();
  for (const entry of committed) {
    for (const p of entry.partitions) committedByPartition.set(p.partition, BigInt(p.offset));
  }
  let lag = 0n;
  for (const p of high) {
    const c = committedByPartition.get(p.partition) ?? -1n;
    lag += BigInt(p.high) - (c < 0n ? 0n : c);
  }
  return Number(lag);
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** Writes `content` to a file in a fresh temporary directory and returns its path. */
export function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'healcast-test-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A worker started as a real child process through the CLI (`healcast run`). */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Raw stderr so far. */
  stderr(): string;
  /** HTTP port, once the worker said it started. */
  readonly port: Promise<number>;
  /** Resolves with the exit code or signal name. */
  readonly exited: Promise<number | string>;
}

/** Starts `healcast run <args>` from the TypeScript sources (tsx), logs as JSON. */
export function spawnWorker(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'run', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  let resolvePort: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => {
    resolvePort = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.event === 'worker_started' && typeof entry.metricsUrl === 'string') {
          resolvePort(Number(new URL(entry.metricsUrl).port));
        }
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, logs, stderr: () => stderr, port, exited };
}

/** Reads one metric's samples from a worker's /metrics as `labels → value`. */
export async function scrape(port: number, metric: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (match && match[1] === metric) out.set(match[2] ?? '', Number(match[3]));
  }
  return out;
}

/**
 * Configuration of an in-process worker on the test services: Kafka mode, silent, a random
 * HTTP port, reading `topic` from the beginning with a fresh group and dead-letter topic.
 */
export function testWorkerConfig(options: {
  kafkaBrokers: string;
  redisUrl: string;
  topic: string;
  policies: string;
  group?: string;
  keyPrefix?: string;
  extra?: Record<string, unknown>;
}): WorkerConfig {
  return buildWorkerConfig({
    mode: 'kafka',
    logLevel: 'silent',
    policies: options.policies,
    http: { host: '127.0.0.1', port: 0 },
    kafka: {
      brokers: options.kafkaBrokers.split(','),
      topics: [options.topic],
      groupId: options.group ?? uniqueName('group'),
      deadLetterTopic: uniqueName('dlq'),
      fromBeginning: true,
    },
    redis: { url: options.redisUrl, keyPrefix: options.keyPrefix ?? uniqueName('hc') },
    ...options.extra,
  });
}
