/**
 * Composition root: the only place that builds real adapters and wires them to the core.
 * Everything else receives its collaborators as arguments.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { CrashAfterEnqueues } from './adapters/faultInjection.js';
import { HttpEndpoint } from './adapters/http/httpServer.js';
import { registerCompressionCodecs } from './adapters/kafka/compression.js';
import { createKafka } from './adapters/kafka/kafkaClient.js';
import { KafkaDeadLetterSink } from './adapters/kafka/kafkaDeadLetterSink.js';
import { KafkaMetricSource } from './adapters/kafka/kafkaMetricSource.js';
import { MemoryDeadLetterSink } from './adapters/memory/memoryDeadLetterSink.js';
import { MemoryExecutorStore } from './adapters/memory/memoryExecutorStore.js';
import {
  SimulatedDriver,
  SimulatedTargetSettingsSchema,
} from './adapters/memory/simulatedDriver.js';
import { MemoryActionSink } from './adapters/memory/memoryActionSink.js';
import { fileLayer } from './adapters/fsConfigFile.js';
import { loadPolicyFile } from './adapters/fsPolicyLoader.js';
import { RedisActionSink } from './adapters/redis/redisActionSink.js';
import { ReplaySource } from './adapters/replay/replaySource.js';
import { systemClock } from './adapters/systemClock.js';
import { subscribedTopics, type WorkerConfig } from './config/workerConfig.js';
import type { ExecutorConfig } from './config/executorConfig.js';
import type { RedisExecutorConfig } from './config/assembleExecutor.js';
import { CockatielBreakers } from './adapters/breaker/cockatielBreakers.js';
import { RedisExecutorStore } from './adapters/redis/redisExecutorStore.js';
import {
  CommandDriver,
  CommandTargetSettingsSchema,
  checkExecutable,
  type CommandTargetSettings,
} from './adapters/targets/commandDriver.js';
import {
  WebhookDriver,
  WebhookTargetSettingsSchema,
  type WebhookTargetSettings,
} from './adapters/targets/webhookDriver.js';
import { createKubernetesDriver } from './adapters/targets/kubernetesDriverFactory.js';
import { KubernetesTargetSettingsSchema } from './adapters/targets/kubernetesSettings.js';
import { Pm2Driver, Pm2TargetSettingsSchema } from './adapters/targets/pm2Driver.js';
import { AllowList, type DriverBinding } from './execute/allowList.js';
import { Executor, type ExecutorSettings } from './execute/executor.js';
import type { ExecutorStore } from './execute/executorStore.js';
import type { DriverType } from './execute/targetDriver.js';
import { ExecutorMetrics } from './observability/executorMetrics.js';
import { buildExecutorConfig } from './config/assembleExecutor.js';
import type { Outcome } from './execute/outcome.js';
import { RedisOutcomeReader } from './adapters/redis/redisOutcomeReader.js';
import { LearnLoop } from './learn/learnLoop.js';
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
import { HttpProber } from './adapters/http/httpProber.js';
import { KafkaMetricPublisher } from './adapters/kafka/kafkaMetricPublisher.js';
import { ProbeRunner, probesOf } from './probe/probeRunner.js';
import { ProbeMetrics, probeEventHandler } from './observability/probeInstrumentation.js';

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
export function demoPaths(): { trace: string; policies: string; executor: string } {
  const root = packageRoot();
  return {
    trace: join(root, 'src/demo/nasa_http_1995-07-12_to_14.csv'),
    policies: join(root, 'src/demo/policies.yaml'),
    executor: join(root, 'src/demo/executor.yaml'),
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
    // Off unless metrics are listed: the rich detector costs per sample (see README).
    detector: config.detector.metrics.length > 0 ? config.detector : undefined,
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
  let probes: Probes | undefined;
  let outcomeReader: RedisOutcomeReader | undefined;
  const closers: (() => Promise<void>)[] = [];
  const learn = new LearnLoop(metrics, log.child({ component: 'learn' }), () => clock.nowMs());

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
    const redis = config.redis;
    outcomeReader = new RedisOutcomeReader(
      {
        url: redis.url,
        keys: redisKeys(redis.keyPrefix),
        markerTtlMs: redis.markerTtl,
        lookbackMs: OUTCOME_LOOKBACK_MS,
      },
      (outcome) => learn.onOutcome(outcome),
      () => metrics.outcomesInvalid.inc(),
      log,
    );
    const running = await probeRunner(kafka, config.kafka.topics[0], enabled, registry, log, clock);
    if (running) closers.push(() => running.stop());
    probes = running;
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
    const skipped = probesOf(enabled).map((probe) => probe.name);
    if (skipped.length > 0) {
      log.warn(
        { event: 'probes_skipped', policies: skipped },
        `probe policies need Kafka (their results travel on the metrics topic); not running ${skipped.join(', ')}`,
      );
    }
    const queue = new MemoryActionSink();
    actionSink = queue;
    deadLetterSink = new MemoryDeadLetterSink();
    const embedded = await embeddedExecutor(queue, demo.executor, registry, log, (outcome) =>
      learn.onOutcome(outcome),
    );
    closers.push(async () => {
      await queue.close();
      await embedded.stop();
    });
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
  learn.attach(processor, outcomeReader);
  const worker = new Worker({
    views,
    onJudgements: (judged) => learn.onJudgements(judged),
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
  probes?.start();
  if (outcomeReader) {
    await outcomeReader.start();
    const reader = outcomeReader;
    closers.unshift(() => reader.stop());
  }
  learn.start();
  closers.unshift(() => Promise.resolve(learn.stop()));
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

/** The liveness probes of the worker, started after it and stopped with it. */
interface Probes {
  start(): void;
  stop(): Promise<void>;
}

/**
 * The runner of the enabled probe policies, publishing their results to `topic` (one the
 * worker reads, so they come back to the policies as samples); undefined when there are none.
 */
async function probeRunner(
  kafka: Kafka,
  topic: string | undefined,
  policies: readonly Policy[],
  registry: Registry,
  log: Logger,
  clock: Clock,
): Promise<Probes | undefined> {
  const probes = probesOf(policies);
  if (probes.length === 0 || topic === undefined) return undefined;
  const publisher = new KafkaMetricPublisher(kafka, topic);
  await publisher.connect();
  const runner = new ProbeRunner({
    probes,
    prober: new HttpProber(`healcast-probe/${VERSION}`),
    publisher,
    clock,
    onEvent: probeEventHandler(new ProbeMetrics(registry), log.child({ component: 'probe' })),
  });
  log.info(
    { event: 'probes_configured', probes: probes.map((p) => p.name), topic },
    `running ${probes.length} liveness probe(s), results to ${topic}`,
  );
  return {
    start: () => runner.start(),
    stop: async () => {
      await runner.stop();
      await publisher.close();
    },
  };
}

/** A running executor, as `healcast executor` and the tests hold it. */
export interface RunningExecutor {
  readonly httpPort: number;
  readonly registry: Registry;
  readonly consumer: string;
  stop(): Promise<void>;
}

/** Test hooks of the executor; never set in production. */
export interface ExecutorTestHooks {
  /** Called right after a driver changed a target, before the outcome is recorded. */
  readonly afterEffect?: (actionId: string) => void;
}

/**
 * Composes the executor: Redis store, allow-listed targets with their drivers, breakers,
 * metrics and the HTTP endpoint. HEALCAST_TEST_EXECUTOR_CRASH=after_effect (tests only) kills
 * the process with SIGKILL between acting on a target and recording the outcome — the moment
 * a crash could make an action happen twice.
 */
export async function startExecutor(
  config: RedisExecutorConfig,
  log: Logger,
  hooks: ExecutorTestHooks = {},
): Promise<RunningExecutor> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'healcast_executor_process_' });
  const metrics = new ExecutorMetrics(registry);
  const bindings = await executorDriverBindings(config);
  const allowList = allowListOf(config, bindings);
  await allowList.check();
  const usedDrivers = new Set(
    [...Object.values(bindings)]
      .filter((b): b is DriverBinding => b !== undefined)
      .map((b) => b.driver),
  );
  const store = new RedisExecutorStore({
    url: config.redis.url,
    keys: redisKeys(config.redis.keyPrefix),
    group: config.consumer.group,
    consumer: config.consumer.name,
    retentionMs: config.redis.markerTtl,
    streamMaxLen: config.redis.streamMaxLen,
  });
  await store.connect();
  const killSwitch = config.killSwitch
    ? process.env['HEALCAST_KILL_SWITCH']
      ? 'env'
      : 'config'
    : undefined;
  if (killSwitch) metrics.killSwitch.set({ source: killSwitch }, 1);
  const crash = process.env['HEALCAST_TEST_EXECUTOR_CRASH'] === 'after_effect';
  const { executor, breakers } = composeExecutor(config, allowList, store, metrics, log, {
    killSwitch,
    blockMs: 1_000,
    ...(hooks.afterEffect || crash
      ? {
          afterEffect: (actionId: string) => {
            hooks.afterEffect?.(actionId);
            if (crash) process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
  });
  const http = new HttpEndpoint(
    registry,
    {
      isAlive: () => true,
      readiness: () => ({
        ready: executor.isReady() && store.isConnected(),
        components: { redis: store.isConnected(), consumer: executor.isReady() },
      }),
    },
    log,
  );
  const httpPort = await http.listen(config.http.host, config.http.port);
  await executor.start();
  metrics.ready.set(1);
  // The Redis kill switch is read per action; the gauge follows it for dashboards.
  const killSwitchTimer = setInterval(() => {
    store.killSwitch().then(
      (on) => metrics.killSwitch.set({ source: 'redis' }, on ? 1 : 0),
      () => undefined,
    );
    metrics.ready.set(executor.isReady() ? 1 : 0);
  }, 2_000);
  killSwitchTimer.unref();
  log.info(
    {
      event: 'executor_started',
      consumer: config.consumer.name,
      group: config.consumer.group,
      targets: config.targets.map((t) => t.target),
      dryRun: config.dryRun,
      killSwitch: killSwitch ?? null,
    },
    `executor ${config.consumer.name} consuming ${redisKeys(config.redis.keyPrefix).actionsStream} with ${allowList.size} allow-listed target(s)${config.dryRun ? ' (DRY RUN)' : ''}`,
  );
  return {
    httpPort,
    registry,
    consumer: config.consumer.name,
    async stop() {
      clearInterval(killSwitchTimer);
      await executor.stop();
      breakers.close();
      await Promise.allSettled([...usedDrivers].map((d) => d.close()));
      await store.close();
      await http.close();
    },
  };
}

/**
 * The drivers the executor can use, each with its settings schema and start-up check. One
 * instance per driver type serves every target of that type.
 */
async function executorDriverBindings(
  config: ExecutorConfig,
): Promise<Partial<Record<DriverType, DriverBinding>>> {
  const uses = (type: DriverType): boolean => config.targets.some((t) => t[type] !== undefined);
  const webhook = new WebhookDriver();
  return {
    ...(uses('pm2')
      ? {
          pm2: {
            driver: new Pm2Driver(
              config.pm2?.home === undefined ? {} : { pm2Home: config.pm2.home },
            ),
            settingsSchema: Pm2TargetSettingsSchema,
          },
        }
      : {}),
    ...(uses('kubernetes')
      ? {
          kubernetes: {
            // Loaded only when a target needs it (the client library is heavy).
            driver: await createKubernetesDriver(config.kubernetes ?? {}),
            settingsSchema: KubernetesTargetSettingsSchema,
          },
        }
      : {}),
    webhook: {
      driver: webhook,
      settingsSchema: WebhookTargetSettingsSchema,
      check: (settings) => webhook.prepare(settings as WebhookTargetSettings),
    },
    command: {
      driver: new CommandDriver(),
      settingsSchema: CommandTargetSettingsSchema,
      check: (settings) => checkExecutable((settings as CommandTargetSettings).executable),
    },
  };
}

/** How far back a starting worker reads the outcomes stream (its recent fires' outcomes). */
const OUTCOME_LOOKBACK_MS = 15 * 60_000;

/**
 * The embedded demo's executor: the real Executor (allow-list, guardrails, journal, breakers,
 * approvals, outcomes) over the in-process queue, acting on simulated targets listed in
 * src/demo/executor.yaml. Outcomes go straight to the learn step (no Redis to read back).
 */
async function embeddedExecutor(
  queue: MemoryActionSink,
  configFile: string,
  registry: Registry,
  log: Logger,
  onOutcome: (outcome: Outcome) => void,
): Promise<{ stop(): Promise<void> }> {
  const config = buildExecutorConfig(await fileLayer(configFile));
  const metrics = new ExecutorMetrics(registry);
  const allowList = allowListOf(config, {
    simulated: { driver: new SimulatedDriver(), settingsSchema: SimulatedTargetSettingsSchema },
  });
  const executorLog = log.child({ component: 'executor' });
  const { executor, breakers } = composeExecutor(
    config,
    allowList,
    new MemoryExecutorStore(queue, onOutcome),
    metrics,
    executorLog,
    { killSwitch: undefined, blockMs: 250 },
  );
  await executor.start();
  return {
    async stop() {
      await executor.stop();
      breakers.close();
    },
  };
}

/** The executor's settings from its configuration. */
function executorSettings(
  config: ExecutorConfig,
  killSwitch: string | undefined,
  blockMs: number,
): ExecutorSettings {
  return {
    dryRun: config.dryRun,
    killSwitch,
    maxAttempts: config.retry.maxAttempts,
    initialBackoffMs: config.retry.initialBackoff,
    maxBackoffMs: config.retry.maxBackoff,
    visibilityTimeoutMs: config.visibilityTimeout,
    actionTimeoutMs: config.actionTimeout,
    maxActionAgeMs: config.maxActionAge,
    batchSize: config.batchSize,
    blockMs,
  };
}

/** The allow-list of an executor config, its targets bound to the drivers given. */
function allowListOf(
  config: ExecutorConfig,
  bindings: Partial<Record<DriverType, DriverBinding>>,
): AllowList {
  return new AllowList(
    config.targets,
    { guardrails: config.guardrails, requireApproval: config.requireApproval },
    bindings,
  );
}

/**
 * The executor over a store (Redis, or in memory for the embedded demo): per-target breakers
 * whose half-open probe is the target's own read-only observe, and the settings of `config`.
 */
function composeExecutor(
  config: ExecutorConfig,
  allowList: AllowList,
  store: ExecutorStore,
  metrics: ExecutorMetrics,
  log: Logger,
  options: {
    readonly killSwitch: string | undefined;
    readonly blockMs: number;
    readonly afterEffect?: (actionId: string) => void;
  },
): { executor: Executor; breakers: CockatielBreakers } {
  const breakers = new CockatielBreakers(
    {
      failureThreshold: config.breaker.failureThreshold,
      halfOpenAfterMs: config.breaker.halfOpenAfter,
    },
    async (targetKey) => {
      const target = allowList.byTargetKey(targetKey);
      if (target === undefined) return;
      await target.driver.observe(target.settings, {
        signal: AbortSignal.timeout(config.actionTimeout),
      });
    },
    metrics,
    log,
  );
  const executor = new Executor({
    store,
    targets: allowList,
    breakers,
    settings: executorSettings(config, options.killSwitch, options.blockMs),
    metrics,
    log,
    nowMs: () => Date.now(),
    random: Math.random,
    ...(options.afterEffect === undefined ? {} : { afterEffect: options.afterEffect }),
  });
  return { executor, breakers };
}
