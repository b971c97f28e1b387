/**
 * Composition root: the only place that builds real adapters and wires them to the core.
 * Everything else receives its collaborators as arguments.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { CrashAfterEnqueues } from './adapters/faultInjection.js';
import { HttpEndpoint } from './adapters/http/httpServer.js';
import { registerCompressionCodecs } from './adapters/kafka/compression.js';
import { createKafka } from './adapters/kafka/kafkaClient.js';
import { KafkaDeadLetterSink } from './adapters/kafka/kafkaDeadLetterSink.js';
import { KafkaMetricSource } from './adapters/kafka/kafkaMetricSource.js';
import { MemoryDeadLetterSink } from './adapters/memory/memoryDeadLetterSink.js';
import { LoggingExecutor } from './adapters/memory/loggingExecutor.js';
import { MemoryActionSink } from './adapters/memory/memoryActionSink.js';
import { loadPolicyFile } from './adapters/fsPolicyLoader.js';
import { RedisActionSink } from './adapters/redis/redisActionSink.js';
import { ReplaySource } from './adapters/replay/replaySource.js';
import { systemClock } from './adapters/systemClock.js';
import { subscribedTopics, type WorkerConfig } from './config/workerConfig.js';
import type { ActionSink } from './dispatch/actionSink.js';
import { redisKeys } from './dispatch/keys.js';
import type { DeadLetterSink, MetricSource } from './ingest/source.js';
import type { Logger } from './observability/logger.js';
import { WorkerMetrics } from './observability/metrics.js';
import type { Clock } from './pipeline/clock.js';
import { toPipelinePolicy } from './pipeline/pipelinePolicy.js';
import { Processor, type ProcessorSettings } from './pipeline/processor.js';
import { InlineBatchProcessor, type BatchProcessor } from './pipeline/batchProcessor.js';
import { ThreadBatchProcessor } from './adapters/thread/threadBatchProcessor.js';
import { Worker } from './pipeline/worker.js';
import { LatestViews } from './pipeline/latestViews.js';
import { createForecastStage, type ForecastStageSettings } from './pipeline/forecastStage.js';
import type { Policy } from './policy/schema.js';
import { seriesKey } from './baseline/seriesTable.js';
import { ModelRuntime } from './adapters/tfjs/modelRuntime.js';
import { mountInspection } from './adapters/http/inspection.js';

/** healcast's version, from package.json at build time of the composition root. */
export const VERSION = '0.1.0';

/** The repository/package root (where package.json is), from src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** Paths of the embedded demo's shipped files. */
export function demoPaths(): { trace: string; policies: string } {
  const root = packageRoot();
  return {
    trace: join(root, 'src/demo/nasa_http_1995-07-12_to_14.csv'),
    policies: join(root, 'src/demo/policies.yaml'),
  };
}

/** A running worker, as returned to the CLI and to tests. */
export interface RunningWorker {
  readonly worker: Worker;
  readonly registry: Registry;
  readonly httpPort: number;
  readonly source: MetricSource;
  readonly actionSink: ActionSink;
  readonly deadLetterSink: DeadLetterSink;
  /** Resolves when a finite source (the demo replay) has been fully processed. */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

/** The core on the main thread (embedded demo, one core), with its own model runtime. */
async function inlineProcessor(
  settings: ProcessorSettings,
  policies: readonly Policy[],
  forecast: ForecastStageSettings | undefined,
  modelsRoot: string,
): Promise<InlineBatchProcessor> {
  const stage =
    forecast === undefined
      ? undefined
      : createForecastStage(forecast, settings.maxSeries, () => performance.now());
  const models = stage === undefined ? undefined : new ModelRuntime(stage.engine, modelsRoot);
  await models?.reload();
  const core = new Processor({
    ...settings,
    policies: policies.map(toPipelinePolicy),
    ...(stage === undefined ? {} : { forecast: stage }),
  });
  return new InlineBatchProcessor(core, models);
}

/** Builds and starts the worker described by `config`. */
export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  clock: Clock = systemClock,
): Promise<RunningWorker> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'healcast_' });
  const metrics = new WorkerMetrics(registry);
  metrics.info.set({ version: VERSION, mode: config.mode }, 1);

  const demo = demoPaths();
  const policyFile = resolve(config.policies ?? demo.policies);
  const policies = await loadPolicyFile(policyFile);
  for (const policy of policies) {
    for (const warning of policy.warnings) {
      log.warn(
        { event: 'policy_warning', policy: policy.name, warning },
        `policy ${policy.name}: ${warning}`,
      );
    }
  }
  const enabled = policies.filter((p) => p.enabled);
  log.info(
    {
      event: 'policies_loaded',
      file: policyFile,
      policies: policies.map((p) => p.name),
      enabled: enabled.length,
    },
    `loaded ${policies.length} healing policies from ${policyFile}`,
  );

  const settings: ProcessorSettings = {
    baseline: config.baseline,
    maxSeries: config.maxSeries,
    format: config.kafka?.format ?? 'auto',
    limits: config.limits,
    deploymentsTopic: config.kafka?.deploymentsTopic,
  };
  const onThread =
    config.processing === 'thread' ||
    (config.processing === 'auto' && config.mode === 'kafka' && availableParallelism() >= 2);
  const modelsRoot = resolve(config.forecast.models ?? join(packageRoot(), 'models'));
  // The demo shows its one series on /ui and in /metrics even when it is not at risk.
  const demoSeries =
    config.mode === 'embedded' && config.forecast.series.length === 0
      ? [seriesKey(config.replay.metric, config.replay.labels)]
      : config.forecast.series;
  const forecastSettings = config.forecast.enabled
    ? { ...config.forecast, series: demoSeries }
    : undefined;
  // Started now, awaited later: the thread boots while the connections are made.
  const processorReady: Promise<BatchProcessor> = onThread
    ? ThreadBatchProcessor.start({
        policies: enabled,
        settings,
        ...(forecastSettings === undefined
          ? {}
          : { forecast: { settings: forecastSettings, modelsRoot } }),
      })
    : inlineProcessor(settings, enabled, forecastSettings, modelsRoot);
  processorReady.catch(() => undefined);
  log.info(
    { event: 'processing_configured', processing: onThread ? 'thread' : 'inline' },
    `decoding and scoring run ${onThread ? 'on a worker thread' : 'on the main thread'}`,
  );

  let source: MetricSource;
  let actionSink: ActionSink;
  let deadLetterSink: DeadLetterSink;
  let executor: LoggingExecutor | undefined;
  const closers: (() => Promise<void>)[] = [];

  if (config.mode === 'kafka' && config.kafka && config.redis) {
    const kafka = createKafka({
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      log,
      logLevel: config.logLevel,
    });
    const redisSink = new RedisActionSink({
      url: config.redis.url,
      keys: redisKeys(config.redis.keyPrefix),
      markerTtlMs: config.redis.markerTtl,
      streamMaxLen: config.redis.streamMaxLen,
    });
    const crashAfter = Number(process.env.HEALCAST_TEST_CRASH_AFTER_ENQUEUES ?? '0');
    actionSink = crashAfter > 0 ? new CrashAfterEnqueues(redisSink, crashAfter) : redisSink;
    const dlq = new KafkaDeadLetterSink(kafka, config.kafka.deadLetterTopic);
    await Promise.all([registerCompressionCodecs(), redisSink.connect(), dlq.connect()]);
    deadLetterSink = dlq;
    source = new KafkaMetricSource(
      kafka,
      {
        groupId: config.kafka.groupId,
        topics: subscribedTopics(config.kafka),
        fromBeginning: config.kafka.fromBeginning,
        sessionTimeoutMs: config.kafka.sessionTimeout,
        heartbeatIntervalMs: config.kafka.heartbeatInterval,
        maxBytesPerPartition: config.kafka.maxBytesPerPartition,
        recoveryLookbackMs: config.kafka.recoveryLookback,
      },
      log,
      () => clock.nowMs(),
    );
  } else {
    const queue = new MemoryActionSink();
    actionSink = queue;
    deadLetterSink = new MemoryDeadLetterSink();
    executor = new LoggingExecutor(queue, log.child({ component: 'executor' }));
    executor.start();
    closers.push(() => executor?.stopped() ?? Promise.resolve());
    source = new ReplaySource(
      {
        path: resolve(config.replay.trace ?? demo.trace),
        metric: config.replay.metric,
        labels: config.replay.labels,
        speed: config.replay.speed,
        loop: config.replay.loop,
        batchSpanMs: 10 * 60_000,
      },
      clock,
    );
  }

  const processor = await processorReady;
  const views = new LatestViews();
  const worker = new Worker({
    views,
    source,
    processor,
    actionSink,
    deadLetterSink,
    metrics,
    log,
    clock,
    retry: { initialMs: config.retry.initial, maxMs: config.retry.max },
    maxInFlightBatches: config.maxInFlightBatches,
    shutdownGraceMs: 5_000,
  });

  const http = new HttpEndpoint(
    registry,
    {
      isAlive: () => worker.isAlive(),
      readiness: () => ({
        ready: worker.isReady(),
        components: {
          source: source.isReady(),
          action_sink: actionSink.isReady(),
          dead_letter: deadLetterSink.isReady(),
        },
      }),
    },
    log,
  );
  mountInspection(http, views);
  const httpPort = await http.listen(config.http.host, config.http.port);
  await worker.start();
  // Hot reload: look for a newly promoted model now and then; the core warms it up and swaps.
  const reloadTimer =
    forecastSettings === undefined
      ? undefined
      : setInterval(() => processor.reloadModel(), forecastSettings.reloadInterval);
  reloadTimer?.unref();
  closers.unshift(() => {
    if (reloadTimer) clearInterval(reloadTimer);
    return Promise.resolve();
  });

  let stopped: Promise<void> | undefined;
  return {
    worker,
    registry,
    httpPort,
    source,
    actionSink,
    deadLetterSink,
    finished: source.finished,
    stop: () =>
      (stopped ??= (async () => {
        await worker.stop();
        for (const close of closers) await close();
        await http.close();
      })()),
  };
}
