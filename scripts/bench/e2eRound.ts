/**
 * One end-to-end measurement, in a fresh process: consume the whole benchmark topic with a
 * fresh consumer group, either with a raw kafkajs consumer that only counts messages
 * (`raw`, the baseline) or with the healcast worker built by `startWorker` (`worker`: real
 * Kafka source, real Redis action sink, Kafka dead-letter topic). Prints one result line.
 *
 * Timing: `t0` just before the consumer (or worker) starts; `first` when the first batch has
 * been handled; `done` when N messages have been handled (the raw consumer's own count; the
 * worker's `healcast_messages_total` summed over outcomes, polled every 5 ms); `committed`
 * when the group's committed offsets reach the high watermarks (polled every 20 ms).
 */
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { registerCompressionCodecs } from '../../src/adapters/kafka/compression.js';
import { createKafka } from '../../src/adapters/kafka/kafkaClient.js';
import { buildWorkerConfig } from '../../src/config/assemble.js';
import type { WorkerConfig } from '../../src/config/workerConfig.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import { startWorker } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { emitResult, nowMs, readJob, sleep } from './common.js';

/** What the parent asks for. */
export interface RoundJob {
  readonly mode: 'raw' | 'worker';
  readonly brokers: string[];
  readonly redisUrl: string;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly group: string;
  readonly keyPrefix: string;
  readonly policyFile: string;
  /** Messages in the topic: the run is over when that many were handled. */
  readonly messages: number;
  readonly timeoutMs: number;
  /**
   * Worker only: forecasting on (the default configuration: the shipped model, forecasts of
   * every series a policy selects) or off (`forecast.enabled: false`, baselines only).
   */
  readonly forecast?: boolean;
}

/** What one round measured. */
export interface RoundResult {
  readonly mode: 'raw' | 'worker';
  readonly messages: number;
  /** t0 → N handled. */
  readonly totalMs: number;
  /** t0 → first batch handled (connect, group join, first fetch). */
  readonly startupMs: number;
  /** First batch handled → N handled. */
  readonly steadyMs: number;
  /** Messages handled by the time `first` was seen (excluded from the steady rate). */
  readonly firstMessages: number;
  /** t0 → committed offsets at the high watermarks. */
  readonly committedMs: number;
  /** Messages per second, t0 → N handled. */
  readonly totalRate: number;
  /** Messages per second over the steady window. */
  readonly steadyRate: number;
  /** CPU time of this process between t0 and N handled, per message (µs). */
  readonly cpuUsPerMessage: number;
  readonly batches: number;
  readonly maxRssBytes: number;
  /** Consumer settings used (the same values for both modes). */
  readonly consumer: {
    readonly maxBytesPerPartition: number;
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly partitionsConsumedConcurrently: 1;
    readonly commit: string;
  };
  /** t0 and the moment N messages were handled, monotonic ms (to cut CPU profiles). */
  readonly windowMs: { readonly startMs: number; readonly endMs: number };
  /** The first batch handled and the moment N messages were handled (the steady window). */
  readonly steadyWindowMs: { readonly startMs: number; readonly endMs: number };
  readonly worker?: {
    /** Sum of healcast_batch_processing_seconds: time inside Worker.handle. */
    readonly handlerSeconds: number;
    /** healcast_samples_total{outcome="scored"}. */
    readonly samplesScored: number;
    /** healcast_samples_total by outcome (scored, out_of_order, duplicate_timestamp, …). */
    readonly samplesByOutcome: Record<string, number>;
    readonly fires: number;
    readonly actions: number;
    readonly deadLetters: number;
    /** XLEN of the run's actions stream after the run (written by the Lua script). */
    readonly actionsInStream: number;
    /** Actions in the stream by `trigger` (reactive, predictive). */
    readonly actionsByTrigger: Record<string, number>;
    /** Whether forecasting was configured on. */
    readonly forecastEnabled: boolean;
    /** healcast_model_loaded at the end. */
    readonly modelLoaded: boolean;
    /** healcast_model_info's labels, if a model was loaded. */
    readonly model?: { readonly version: string; readonly backend: string };
    /** healcast_forecasts_total: series forecasts made. */
    readonly forecasts: number;
    /** Batched inferences (healcast_forecast_inference_seconds_count). */
    readonly inferenceBatches: number;
    /** Time inside forecastBatch on the processor thread (healcast_forecast_inference_seconds_sum). */
    readonly inferenceSeconds: number;
  };
}

/** Sum of all values of one metric whose sample name is `sampleName` (default: the metric). */
async function metricSum(registry: Registry, metric: string, sampleName = metric): Promise<number> {
  const found = registry.getSingleMetric(metric);
  if (found === undefined) return 0;
  const { values } = await found.get();
  let sum = 0;
  for (const v of values) {
    const name = (v as { metricName?: string }).metricName ?? metric;
    if (name === sampleName) sum += v.value;
  }
  return sum;
}

async function committedLag(admin: Admin, group: string, topic: string): Promise<number> {
  const [high, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const byPartition = new Map<number, bigint>();
  for (const entry of committed)
    for (const p of entry.partitions) byPartition.set(p.partition, BigInt(p.offset));
  let lag = 0n;
  for (const p of high) {
    const c = byPartition.get(p.partition) ?? -1n;
    lag += BigInt(p.high) - (c < 0n ? 0n : c);
  }
  return Number(lag);
}

async function untilCommitted(admin: Admin, job: RoundJob, deadline: number): Promise<number> {
  while (nowMs() < deadline) {
    if ((await committedLag(admin, job.group, job.topic)) === 0) return nowMs();
    await sleep(20);
  }
  throw new Error(`offsets of ${job.group} not committed in time`);
}

function configFor(job: RoundJob): WorkerConfig {
  return buildWorkerConfig({
    mode: 'kafka',
    logLevel: 'silent',
    policies: job.policyFile,
    http: { host: '127.0.0.1', port: 0 },
    kafka: {
      brokers: job.brokers,
      clientId: `bench-${job.mode}`,
      groupId: job.group,
      topics: [job.topic],
      deadLetterTopic: job.deadLetterTopic,
      fromBeginning: true,
    },
    redis: { url: job.redisUrl, keyPrefix: job.keyPrefix },
    forecast: { enabled: job.forecast !== false },
  });
}

/** Values of one metric by the value of one of its labels. */
async function metricByLabel(
  registry: Registry,
  metric: string,
  label: string,
): Promise<Record<string, number>> {
  const found = registry.getSingleMetric(metric);
  if (found === undefined) return {};
  const { values } = await found.get();
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = String(v.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/** Labels of the one healcast_model_info sample, if any. */
async function modelInfo(
  registry: Registry,
): Promise<{ version: string; backend: string } | undefined> {
  const found = registry.getSingleMetric('healcast_model_info');
  if (found === undefined) return undefined;
  const { values } = await found.get();
  const labels = values.find((v) => v.value === 1)?.labels;
  if (labels === undefined) return undefined;
  return { version: String(labels['version']), backend: String(labels['backend']) };
}

async function runRaw(job: RoundJob, config: WorkerConfig, admin: Admin): Promise<RoundResult> {
  const kafkaConfig = config.kafka;
  if (kafkaConfig === undefined) throw new Error('no kafka config');
  // The same client settings as the worker (createKafka) and the same consumer settings as
  // KafkaMetricSource; eachBatch with kafkajs' default autoCommit (a commit after every batch).
  const kafka = createKafka({
    brokers: kafkaConfig.brokers,
    clientId: kafkaConfig.clientId,
    log: createLogger({ level: 'silent' }),
    logLevel: config.logLevel,
  });
  const consumer = kafka.consumer({
    groupId: job.group,
    sessionTimeout: kafkaConfig.sessionTimeout,
    heartbeatInterval: kafkaConfig.heartbeatInterval,
    maxBytesPerPartition: kafkaConfig.maxBytesPerPartition,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  let count = 0;
  let batches = 0;
  let firstAt = 0;
  let firstMessages = 0;
  let doneAt = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  await consumer.connect();
  await consumer.subscribe({ topics: [job.topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return;
      count += batch.messages.length;
      batches++;
      if (firstAt === 0) {
        firstAt = nowMs();
        firstMessages = count;
      }
      if (count >= job.messages && doneAt === 0) {
        doneAt = nowMs();
        resolveDone();
      }
      return Promise.resolve();
    },
  });
  const timeout = setTimeout(() => resolveDone(), job.timeoutMs);
  await done;
  clearTimeout(timeout);
  if (doneAt === 0) throw new Error(`raw consumer read ${count}/${job.messages} before timeout`);
  const cpu = process.cpuUsage(cpu0);
  const committedAt = await untilCommitted(admin, job, t0 + job.timeoutMs);
  await consumer.disconnect();
  return summarise(job, config, { t0, firstAt, doneAt, committedAt, firstMessages, batches, cpu });
}

async function runWorker(job: RoundJob, config: WorkerConfig, admin: Admin): Promise<RoundResult> {
  const log = createLogger({ level: 'silent' });
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const running = await startWorker(config, log);
  const { registry } = running;
  let firstAt = 0;
  let firstMessages = 0;
  let doneAt = 0;
  const deadline = t0 + job.timeoutMs;
  while (nowMs() < deadline) {
    const handled = await metricSum(registry, 'healcast_messages_total');
    if (handled > 0 && firstAt === 0) {
      firstAt = nowMs();
      firstMessages = handled;
    }
    if (handled >= job.messages) {
      doneAt = nowMs();
      break;
    }
    await sleep(5);
  }
  if (doneAt === 0) throw new Error('worker did not handle every message before the timeout');
  const cpu = process.cpuUsage(cpu0);
  const committedAt = await untilCommitted(admin, job, deadline);
  const worker = {
    handlerSeconds: await metricSum(
      registry,
      'healcast_batch_processing_seconds',
      'healcast_batch_processing_seconds_sum',
    ),
    samplesScored: 0,
    samplesByOutcome: await metricByLabel(registry, 'healcast_samples_total', 'outcome'),
    fires: await metricSum(registry, 'healcast_policy_fires_total'),
    actions: await metricSum(registry, 'healcast_actions_total'),
    deadLetters: await metricSum(registry, 'healcast_dead_letters_total'),
    actionsInStream: 0,
    actionsByTrigger: {} as Record<string, number>,
    forecastEnabled: job.forecast !== false,
    modelLoaded: (await metricSum(registry, 'healcast_model_loaded')) === 1,
    ...(await modelInfo(registry).then((model) => (model === undefined ? {} : { model }))),
    forecasts: await metricSum(registry, 'healcast_forecasts_total'),
    inferenceBatches: await metricSum(
      registry,
      'healcast_forecast_inference_seconds',
      'healcast_forecast_inference_seconds_count',
    ),
    inferenceSeconds: await metricSum(
      registry,
      'healcast_forecast_inference_seconds',
      'healcast_forecast_inference_seconds_sum',
    ),
  };
  worker.samplesScored = worker.samplesByOutcome['scored'] ?? 0;
  const batches = await metricSum(
    registry,
    'healcast_batch_processing_seconds',
    'healcast_batch_processing_seconds_count',
  );
  await running.stop();
  const redis = new Redis(job.redisUrl, { lazyConnect: true });
  await redis.connect();
  const stream = redisKeys(job.keyPrefix).actionsStream;
  worker.actionsInStream = await redis.xlen(stream);
  for (const [, fields] of await redis.xrange(stream, '-', '+')) {
    const envelope = fields[fields.indexOf('envelope') + 1];
    let trigger = 'unknown';
    try {
      trigger = String((JSON.parse(envelope ?? '{}') as { trigger?: unknown }).trigger ?? trigger);
    } catch {
      // Counted as unknown.
    }
    worker.actionsByTrigger[trigger] = (worker.actionsByTrigger[trigger] ?? 0) + 1;
  }
  // The run's stream, fire markers and cooldowns: nobody else uses this prefix.
  const pattern = `${redisKeys(job.keyPrefix).actionsStream.replace(/:actions$/, '')}:*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
  return {
    ...summarise(job, config, { t0, firstAt, doneAt, committedAt, firstMessages, batches, cpu }),
    worker,
  };
}

function summarise(
  job: RoundJob,
  config: WorkerConfig,
  m: {
    t0: number;
    firstAt: number;
    doneAt: number;
    committedAt: number;
    firstMessages: number;
    batches: number;
    cpu: NodeJS.CpuUsage;
  },
): RoundResult {
  const totalMs = m.doneAt - m.t0;
  const steadyMs = m.doneAt - m.firstAt;
  return {
    mode: job.mode,
    messages: job.messages,
    totalMs,
    startupMs: m.firstAt - m.t0,
    steadyMs,
    firstMessages: m.firstMessages,
    committedMs: m.committedAt - m.t0,
    totalRate: (job.messages / totalMs) * 1000,
    steadyRate: steadyMs > 0 ? ((job.messages - m.firstMessages) / steadyMs) * 1000 : NaN,
    cpuUsPerMessage: (m.cpu.user + m.cpu.system) / job.messages,
    batches: m.batches,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    windowMs: { startMs: m.t0, endMs: m.doneAt },
    steadyWindowMs: { startMs: m.firstAt, endMs: m.doneAt },
    consumer: {
      maxBytesPerPartition: config.kafka?.maxBytesPerPartition ?? NaN,
      sessionTimeoutMs: config.kafka?.sessionTimeout ?? NaN,
      heartbeatIntervalMs: config.kafka?.heartbeatInterval ?? NaN,
      partitionsConsumedConcurrently: 1,
      commit:
        job.mode === 'raw'
          ? 'kafkajs autoCommit (after every batch)'
          : 'explicit commitOffsets after every batch',
    },
  };
}

async function main(): Promise<void> {
  const job = readJob<RoundJob>();
  const config = configFor(job);
  await registerCompressionCodecs();
  const admin = createKafka({
    brokers: job.brokers,
    clientId: 'bench-admin',
    log: createLogger({ level: 'silent' }),
    logLevel: 'silent',
  }).admin();
  await admin.connect();
  try {
    const result =
      job.mode === 'raw' ? await runRaw(job, config, admin) : await runWorker(job, config, admin);
    emitResult(result);
  } finally {
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `e2e round failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
