/**
 * End-to-end throughput on the real broker: produce N messages once to a fresh 3-partition
 * topic, then alternately measure the raw kafkajs consumer (the baseline) and the healcast
 * worker reading the whole topic with fresh groups, each in a fresh process.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { registerCompressionCodecs } from '../../src/adapters/kafka/compression.js';
import { createKafka } from '../../src/adapters/kafka/kafkaClient.js';
import { createLogger } from '../../src/observability/logger.js';
import { median, nowMs, progress, ROOT, runChild } from './common.js';
import {
  BENCH_POLICIES,
  MALFORMED_MESSAGE,
  STEP_MS,
  jsonMessage,
  messageKey,
  noiseSource,
} from './data.js';
import type { RoundJob, RoundResult } from './e2eRound.js';
import { summariseProfile, type ProfileSummary } from './profile.js';

const { CompressionTypes } = kafkajs;

/** Settings of the end-to-end benchmark. */
export interface E2eOptions {
  readonly brokers: string[];
  readonly redisUrl: string;
  readonly messages: number;
  readonly series: number;
  readonly rounds: number;
  /** One malformed message every 1/badRatio (0: none). */
  readonly badRatio: number;
  readonly compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  readonly profile: boolean;
  readonly keepTopics: boolean;
  readonly cacheDir: string;
}

/** What the end-to-end benchmark found. */
export interface E2eResult {
  readonly topic: string;
  /** Directory of this run's policy file and CPU profiles. */
  readonly runDir: string;
  readonly partitions: number;
  readonly messages: number;
  readonly malformed: number;
  readonly series: number;
  readonly payloadBytes: number;
  readonly compression: string;
  readonly produceSeconds: number;
  readonly rounds: {
    readonly order: string[];
    readonly raw: RoundResult;
    readonly worker: RoundResult;
  }[];
  readonly median: {
    readonly rawSteadyRate: number;
    readonly workerSteadyRate: number;
    readonly rawTotalRate: number;
    readonly workerTotalRate: number;
    /** Ratio of the medians, steady window. */
    readonly steadyRatio: number;
    /** Ratio of the medians, including startup (connect + group join). */
    readonly totalRatio: number;
    /** Median of the per-round ratios (each pair ran back to back). */
    readonly pairedSteadyRatio: number;
    readonly rawCpuUsPerMessage: number;
    readonly workerCpuUsPerMessage: number;
    /** Share of the worker's steady window spent inside Worker.handle. */
    readonly workerHandlerShare: number;
  };
  readonly profiles?: { readonly raw: ProfileSummary; readonly worker: ProfileSummary };
}

const PARTITIONS = 3;
const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;

function uniqueId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Runs the whole end-to-end benchmark. */
export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const id = uniqueId();
  const topic = `bench-metrics-${id}`;
  const deadLetterTopic = `bench-dead-letter-${id}`;
  const runDir = join(options.cacheDir, `e2e-${id}`);
  mkdirSync(runDir, { recursive: true });
  const policyFile = join(runDir, 'policies.yaml');
  writeFileSync(policyFile, BENCH_POLICIES);

  await registerCompressionCodecs();
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: 'bench-setup',
    log: createLogger({ level: 'silent' }),
    logLevel: 'silent',
  });
  const admin = kafka.admin();
  const groups: string[] = [];
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic, numPartitions: PARTITIONS },
        { topic: deadLetterTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const produced = await produce(kafka, topic, options);
    progress(
      `produced ${produced.messages} messages (${produced.malformed} malformed, ${(produced.payloadBytes / 1e6).toFixed(1)} MB) to ${topic} in ${produced.seconds.toFixed(1)} s`,
    );

    const base = {
      brokers: options.brokers,
      redisUrl: options.redisUrl,
      topic,
      deadLetterTopic,
      policyFile,
      messages: options.messages,
      timeoutMs: 300_000,
    };
    const round = (mode: 'raw' | 'worker', label: string, nodeArgs: string[] = []) => {
      const group = `bench-${mode}-${label}-${id}`;
      groups.push(group);
      return runChild<RoundResult>(
        'e2eRound.ts',
        {
          ...base,
          mode,
          group,
          keyPrefix: `bench-${label}-${id}`,
        } satisfies RoundJob,
        nodeArgs,
      );
    };

    const rounds: E2eResult['rounds'] = [];
    for (let r = 0; r < options.rounds; r++) {
      const order: ('raw' | 'worker')[] = r % 2 === 0 ? ['raw', 'worker'] : ['worker', 'raw'];
      const results: Partial<Record<'raw' | 'worker', RoundResult>> = {};
      for (const mode of order) {
        const result = await round(mode, `r${r}`);
        results[mode] = result;
        progress(
          `round ${r + 1}/${options.rounds} ${mode.padEnd(6)} ${Math.round(result.steadyRate).toLocaleString('en-US')} msg/s steady, ${Math.round(result.totalRate).toLocaleString('en-US')} msg/s from start (${(result.totalMs / 1000).toFixed(2)} s)`,
        );
      }
      rounds.push({
        order,
        raw: results.raw as RoundResult,
        worker: results.worker as RoundResult,
      });
    }

    let profiles: E2eResult['profiles'];
    if (options.profile) {
      const profiled = async (mode: 'raw' | 'worker'): Promise<ProfileSummary> => {
        // One directory per round: Node writes one profile per thread (the tsx loader runs
        // in its own), and the main thread's is the busiest.
        const profileDir = join(runDir, `profile-${mode}`);
        const before = nowMs();
        const result = await round(mode, 'profile', ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
        progress(`profiled a ${mode} round (${((nowMs() - before) / 1000).toFixed(1)} s)`);
        const summaries = readdirSync(profileDir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => summariseProfile(join(profileDir, f), 20, result.windowMs))
          .sort((a, b) => b.busyMs - a.busyMs);
        const main = summaries[0];
        if (main === undefined) throw new Error(`no profile written for ${mode}`);
        return main;
      };
      profiles = { raw: await profiled('raw'), worker: await profiled('worker') };
    }

    const raw = rounds.map((r) => r.raw);
    const worker = rounds.map((r) => r.worker);
    const rawSteadyRate = median(raw.map((r) => r.steadyRate));
    const workerSteadyRate = median(worker.map((r) => r.steadyRate));
    const rawTotalRate = median(raw.map((r) => r.totalRate));
    const workerTotalRate = median(worker.map((r) => r.totalRate));
    return {
      topic,
      runDir,
      partitions: PARTITIONS,
      messages: produced.messages,
      malformed: produced.malformed,
      series: options.series,
      payloadBytes: produced.payloadBytes,
      compression: options.compression,
      produceSeconds: produced.seconds,
      rounds,
      median: {
        rawSteadyRate,
        workerSteadyRate,
        rawTotalRate,
        workerTotalRate,
        steadyRatio: workerSteadyRate / rawSteadyRate,
        totalRatio: workerTotalRate / rawTotalRate,
        pairedSteadyRatio: median(rounds.map((r) => r.worker.steadyRate / r.raw.steadyRate)),
        rawCpuUsPerMessage: median(raw.map((r) => r.cpuUsPerMessage)),
        workerCpuUsPerMessage: median(worker.map((r) => r.cpuUsPerMessage)),
        workerHandlerShare: median(
          worker.map((r) => ((r.worker?.handlerSeconds ?? NaN) * 1000) / r.totalMs),
        ),
      },
      ...(profiles === undefined ? {} : { profiles }),
    };
  } finally {
    if (!options.keepTopics) {
      await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
      if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    }
    await admin.disconnect();
  }
}

/** Produces the benchmark messages, time-major, keyed by series, 4 sends in flight. */
async function produce(
  kafka: ReturnType<typeof createKafka>,
  topic: string,
  options: E2eOptions,
): Promise<{ messages: number; malformed: number; payloadBytes: number; seconds: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const steps = Math.ceil(options.messages / options.series);
  // Every timestamp lies in the past (the decoder refuses the future) and in order per series.
  const baseMs = Date.now() - (steps + 2) * STEP_MS - 60_000;
  const badEvery = options.badRatio > 0 ? Math.round(1 / options.badRatio) : 0;
  const noise = noiseSource();
  const chunk = 2_000;
  const inFlight = 4;
  let malformed = 0;
  let payloadBytes = 0;
  const started = nowMs();
  try {
    for (let start = 0; start < options.messages; start += chunk * inFlight) {
      const sends: Promise<unknown>[] = [];
      for (let c = start; c < Math.min(start + chunk * inFlight, options.messages); c += chunk) {
        const messages: { key: string; value: string }[] = [];
        for (let i = c; i < Math.min(c + chunk, options.messages); i++) {
          const index = i % options.series;
          const step = Math.floor(i / options.series);
          let value: string;
          if (badEvery > 0 && i % badEvery === badEvery - 1) {
            value = MALFORMED_MESSAGE;
            malformed++;
          } else {
            value = jsonMessage(index, step, baseMs + step * STEP_MS, noise());
          }
          payloadBytes += Buffer.byteLength(value);
          messages.push({ key: messageKey(index), value });
        }
        sends.push(
          producer.send({
            topic,
            acks: -1,
            compression: CODECS[options.compression],
            messages,
          }),
        );
      }
      await Promise.all(sends);
    }
  } finally {
    await producer.disconnect();
  }
  return {
    messages: options.messages,
    malformed,
    payloadBytes,
    seconds: (nowMs() - started) / 1000,
  };
}

/** The benchmark's private directory under .cache/bench. */
export function defaultCacheDir(): string {
  return join(ROOT, '.cache', 'bench');
}
