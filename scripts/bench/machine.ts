/** What the benchmark ran on: hardware, runtime, library and service versions, load. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ROOT } from './common.js';

/** Description of the machine and software a run used. */
export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryBytes: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  readonly kafkajs: string;
  readonly ioredis: string;
  /** @tensorflow/tfjs (and, when installed, tfjs-node) versions. */
  readonly tfjs: string;
  readonly kafkaBroker: string;
  readonly redisServer: string;
  readonly gitCommit: string;
  /** 1-minute load average at the start of the run (the machine is shared). */
  readonly loadAverageAtStart: number;
}

function packageVersion(name: string): string {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return 'not installed';
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Kafka version from the broker jars scripts/services.sh runs (kafka-server-X.jar). */
function kafkaVersion(): string {
  const libs = join(ROOT, '.cache', 'kafka', 'libs');
  if (!existsSync(libs)) return 'unknown (not started by scripts/services.sh)';
  const jar = readdirSync(libs).find((f) => /^kafka-server-[\d.]+\.jar$/.test(f));
  const version = jar === undefined ? undefined : /-([\d.]+)\.jar$/.exec(jar)?.[1];
  return version === undefined ? 'unknown' : `Apache Kafka ${version} (KRaft, single node)`;
}

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unreachable';
  } finally {
    redis.disconnect();
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT })
      .toString()
      .trim();
    return dirty === '' ? head : `${head} (src/ modified)`;
  } catch {
    return 'unknown';
  }
}

/** Collects the machine description. */
export async function describeMachine(redisUrl: string | undefined): Promise<MachineInfo> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    kafkajs: packageVersion('kafkajs'),
    ioredis: packageVersion('ioredis'),
    tfjs: `${packageVersion('@tensorflow/tfjs')} (tfjs-backend-wasm ${packageVersion('@tensorflow/tfjs-backend-wasm')}, tfjs-node ${packageVersion('@tensorflow/tfjs-node')})`,
    kafkaBroker: kafkaVersion(),
    redisServer: redisUrl === undefined ? 'not used' : await redisVersion(redisUrl),
    gitCommit: gitCommit(),
    loadAverageAtStart: os.loadavg()[0] ?? NaN,
  };
}
