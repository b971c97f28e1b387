// vitest globalSetup of the "integration" project: make sure a real Kafka broker and a real
// Redis server are reachable before any integration test runs.
//
// - KAFKA_BROKERS / REDIS_URL already set: used as they are, nothing is started.
// - Otherwise `bash scripts/services.sh up <missing services>` installs and starts them
//   (first run on a fresh machine: Maven + apt downloads; afterwards a few seconds, or
//   instantly when they are still running).
// - Teardown stops only what this setup started, and not even that when
//   HEALCAST_KEEP_SERVICES=1 (handy when re-running tests in a loop).
//
// The addresses reach the test workers through `project.provide` (read them with
// serviceEnv() from ./env.ts) and through process.env, which the workers inherit.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type { ServiceEnv } from './env.js';

type Service = 'kafka' | 'redis';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'services.sh');

interface RunResult {
  code: number;
  stdout: string;
}

/** Runs scripts/services.sh; its stderr (progress) goes straight to ours. */
function services(args: string[], echoStdout: boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (echoStdout) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

/** Which services `services.sh status` reports as up (it prints "kafka: up (...)"). */
async function runningServices(): Promise<Set<Service>> {
  const { stdout } = await services(['status'], false);
  const up = new Set<Service>();
  for (const match of stdout.matchAll(/^(kafka|redis): up\b/gm)) up.add(match[1] as Service);
  return up;
}

function exported(stdout: string, name: string): string | undefined {
  return new RegExp(`^${name}=(.+)$`, 'm').exec(stdout)?.[1]?.trim();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let kafkaBrokers = process.env['KAFKA_BROKERS'];
  let redisUrl = process.env['REDIS_URL'];

  const missing: Service[] = [];
  if (!kafkaBrokers) missing.push('kafka');
  if (!redisUrl) missing.push('redis');

  let started: Service[] = [];
  if (missing.length > 0) {
    const before = await runningServices();
    started = missing.filter((s) => !before.has(s));
    const t0 = Date.now();
    process.stderr.write(`[services] globalSetup: scripts/services.sh up ${missing.join(' ')}\n`);
    const { code, stdout } = await services(['up', ...missing], true);
    if (code !== 0) {
      throw new Error(`scripts/services.sh up failed with exit code ${code} (output above)`);
    }
    kafkaBrokers ??= exported(stdout, 'KAFKA_BROKERS');
    redisUrl ??= exported(stdout, 'REDIS_URL');
    process.stderr.write(`[services] globalSetup: ready in ${Date.now() - t0} ms\n`);
  }
  if (!kafkaBrokers || !redisUrl) {
    throw new Error('scripts/services.sh up did not print KAFKA_BROKERS and REDIS_URL');
  }

  const env: ServiceEnv = { kafkaBrokers, redisUrl };
  process.env['KAFKA_BROKERS'] = kafkaBrokers;
  process.env['REDIS_URL'] = redisUrl;
  project.provide('healcastServices', env);

  return async () => {
    if (started.length === 0) return;
    if (process.env['HEALCAST_KEEP_SERVICES'] === '1') {
      process.stderr.write(
        `[services] HEALCAST_KEEP_SERVICES=1: leaving ${started.join(' ')} running\n`,
      );
      return;
    }
    const { code } = await services(['down', ...started], true);
    if (code !== 0) process.stderr.write(`[services] services.sh down exited with ${code}\n`);
  };
}
