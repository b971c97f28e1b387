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
  /**
   * Also run, in every round, the worker with forecasting off (`forecast.enabled: false`), to
   * show what forecasting costs on the same messages.
   */
  readonly forecastOffRounds: boolean;
}

/** The consumers a round compares. */
export type RoundMode = 'raw' | 'worker' | 'workerNoForecast';

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
    readonly order: RoundMode[];
    readonly raw: RoundResult;
    /** The worker as configured by default: forecasting with the shipped model. */
    readonly worker: RoundResult;
    /** The worker with forecasting off, when asked for. */
    readonly workerNoForecast?: RoundResult;
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
    /** Series forecasts per worker round (healcast_forecasts_total). */
    readonly forecasts: number;
    /** Batched inferences per worker round. */
    readonly inferenceBatches: number;
    /** Seconds inside forecastBatch per worker round. */
    readonly inferenceSeconds: number;
    /** inferenceSeconds over the worker's t0 → N time (the processor thread's wall time). */
    readonly inferenceShare: number;
    /** Worker with forecasting off, when measured. */
    readonly noForecastSteadyRate?: number;
    readonly noForecastTotalRate?: number;
    readonly noForecastCpuUsPerMessage?: number;
    /** Worker without forecasting over raw, steady. */
    readonly noForecastSteadyRatio?: number;
    /** Worker with forecasting over worker without, steady (median of per-round ratios). */
    readonly forecastCostRatio?: number;
  };
  readonly profiles?: {
    readonly raw: ProfileSummary;
    /** The worker's main thread (kafkajs, sinks). */
    readonly worker: ProfileSummary;
    /** The worker's processor thread (decode, score, forecast) over the steady window, when found. */
    readonly workerThread?: ProfileSummary;
  };
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
    const round = (mode: RoundMode, label: string, nodeArgs: string[] = []) => {
      const group = `bench-${mode}-${label}-${id}`;
      groups.push(group);
      return runChild<RoundResult>(
        'e2eRound.ts',
        {
          ...base,
          mode: mode === 'raw' ? 'raw' : 'worker',
          forecast: mode !== 'workerNoForecast',
          group,
          keyPrefix: `bench-${mode}-${label}-${id}`,
        } satisfies RoundJob,
        nodeArgs,
      );
    };

    // The order rotates, so each consumer runs first, second (and third) equally often.
    const modes: RoundMode[] = options.forecastOffRounds
      ? ['raw', 'worker', 'workerNoForecast']
      : ['raw', 'worker'];
    const rounds: E2eResult['rounds'] = [];
    for (let r = 0; r < options.rounds; r++) {
      const order = modes.map((_, i) => modes[(i + r) % modes.length] as RoundMode);
      const results: Partial<Record<RoundMode, RoundResult>> = {};
      for (const mode of order) {
        const result = await round(mode, `r${r}`);
        results[mode] = result;
        const w = result.worker;
        progress(
          `round ${r + 1}/${options.rounds} ${mode.padEnd(16)} ${Math.round(result.steadyRate).toLocaleString('en-US')} msg/s steady, ${Math.round(result.totalRate).toLocaleString('en-US')} msg/s from start (${(result.totalMs / 1000).toFixed(2)} s)${w ? `, ${w.forecasts.toLocaleString('en-US')} forecasts in ${w.inferenceBatches} inferences (${(w.inferenceSeconds * 1000).toFixed(0)} ms), ${w.actionsInStream} actions` : ''}`,
        );
      }
      rounds.push({
        order,
        raw: results.raw as RoundResult,
        worker: results.worker as RoundResult,
        ...(results.workerNoForecast === undefined
          ? {}
          : { workerNoForecast: results.workerNoForecast }),
      });
    }

    let profiles: E2eResult['profiles'];
    if (options.profile) {
      const profiled = async (
        mode: 'raw' | 'worker',
      ): Promise<{ main: ProfileSummary; thread?: ProfileSummary }> => {
        // One directory per round: Node writes one profile per thread (the worker's processor
        // thread, the tsx loader when not compiled). The main thread is the one running
        // kafkajs; the processor thread the one decoding.
        const profileDir = join(runDir, `profile-${mode}`);
        const before = nowMs();
        const result = await round(mode, 'profile', ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
        progress(`profiled a ${mode} round (${((nowMs() - before) / 1000).toFixed(1)} s)`);
        const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
        const summaries = files.map((f) =>
          summariseProfile(join(profileDir, f), 20, result.windowMs),
        );
        const areaMs = (p: ProfileSummary, area: string): number =>
          p.areas.find((a) => a.name === area)?.ms ?? 0;
        const byArea = (area: string, among: ProfileSummary[]) =>
          [...among].sort((a, b) => areaMs(b, area) - areaMs(a, area) || b.busyMs - a.busyMs)[0];
        const main = byArea('kafkajs', summaries);
        if (main === undefined) throw new Error(`no profile written for ${mode}`);
        const others = summaries.filter((p) => p !== main);
        const thread = byArea('healcast ingest (decode)', others);
        if (thread === undefined || areaMs(thread, 'healcast ingest (decode)') === 0)
          return { main };
        // The processor thread over the steady window (first batch → N): its start-up (tfjs
        // and the model loading) is not what limits the sustained rate.
        return { main, thread: summariseProfile(thread.file, 20, result.steadyWindowMs) };
      };
      const raw = await profiled('raw');
      const worker = await profiled('worker');
      profiles = {
        raw: raw.main,
        worker: worker.main,
        ...(worker.thread === undefined ? {} : { workerThread: worker.thread }),
      };
    }

    const raw = rounds.map((r) => r.raw);
    const worker = rounds.map((r) => r.worker);
    const off = rounds.flatMap((r) =>
      r.workerNoForecast === undefined ? [] : [r.workerNoForecast],
    );
    const info = worker.map((r) => r.worker);
    const fromInfo = (pick: (w: NonNullable<RoundResult['worker']>) => number): number =>
      median(info.map((w) => (w === undefined ? NaN : pick(w))));
    const noForecast =
      off.length === 0
        ? {}
        : {
            noForecastSteadyRate: median(off.map((r) => r.steadyRate)),
            noForecastTotalRate: median(off.map((r) => r.totalRate)),
            noForecastCpuUsPerMessage: median(off.map((r) => r.cpuUsPerMessage)),
            noForecastSteadyRatio:
              median(off.map((r) => r.steadyRate)) / median(raw.map((r) => r.steadyRate)),
            forecastCostRatio: median(
              rounds.map((r) =>
                r.workerNoForecast === undefined
                  ? NaN
                  : r.worker.steadyRate / r.workerNoForecast.steadyRate,
              ),
            ),
          };
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
        forecasts: fromInfo((w) => w.forecasts),
        inferenceBatches: fromInfo((w) => w.inferenceBatches),
        inferenceSeconds: fromInfo((w) => w.inferenceSeconds),
        inferenceShare: median(
          worker.map((r) => ((r.worker?.inferenceSeconds ?? NaN) * 1000) / r.totalMs),
        ),
        ...noForecast,
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

/**
 * Produces the benchmark messages, time-major, keyed by series, one send at a time: with
 * several sends in flight, kafkajs may write a later send's request to a partition before an
 * earlier one's, and the worker then drops the overtaken samples as out of order (a quarter
 * of them when this sent 4 chunks of 2,000 concurrently).
 */
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
  const chunk = 8_000;
  let malformed = 0;
  let payloadBytes = 0;
  const started = nowMs();
  try {
    for (let start = 0; start < options.messages; start += chunk) {
      const messages: { key: string; value: string }[] = [];
      for (let i = start; i < Math.min(start + chunk, options.messages); i++) {
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
      await producer.send({
        topic,
        acks: -1,
        compression: CODECS[options.compression],
        messages,
      });
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
