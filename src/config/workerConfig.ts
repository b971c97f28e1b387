import { z } from 'zod';
import { BaselineConfigSchema } from '../baseline/ewma.js';
import { DEFAULT_DETECTOR_CONFIG, DetectorConfigSchema } from '../detect/config.js';
import { DecodeLimitsSchema } from '../ingest/limits.js';
import { DurationMs } from './duration.js';

const HOST_PORT = /^[A-Za-z0-9._\-[\]:]+:\d{1,5}$/;

/** Kafka settings (mode `kafka`). */
export const KafkaConfigSchema = z.strictObject({
  brokers: z
    .array(z.string().regex(HOST_PORT, 'expected host:port'))
    .min(1, 'at least one broker (host:port) is needed'),
  clientId: z.string().min(1).default('healcast'),
  groupId: z.string().min(1).default('healcast'),
  topics: z.array(z.string().min(1)).min(1).default(['metrics']),
  deadLetterTopic: z.string().min(1).default('metrics.dead-letter'),
  /**
   * Deployment events (service, version, time) that open the watch windows of policies with
   * a `deployment:` gate (automatic rollbacks). Read by the same consumer group as the metric
   * topics, committed and re-read on recovery the same way — so keep `recoveryLookback` longer
   * than the longest deployment window, or a restart forgets windows still open. Unset: no
   * deployments are read.
   */
  deploymentsTopic: z.string().min(1).optional(),
  /** Wire format of the metric messages; `auto` tells JSON from line protocol per message. */
  format: z.enum(['auto', 'json', 'influx']).default('auto'),
  /** Where a new consumer group starts: the earliest retained message or only new ones. */
  fromBeginning: z.boolean().default(false),
  sessionTimeout: DurationMs.default(30_000),
  heartbeatInterval: DurationMs.default(3_000),
  maxBytesPerPartition: z.number().int().positive().default(1_048_576),
  /**
   * On start and rebalance, re-read this much time (by message timestamp) before the committed
   * offsets to rebuild baselines, breaches and cooldowns; "0" disables.
   */
  recoveryLookback: DurationMs.default(2 * 3_600_000),
});

/** Redis settings (mode `kafka`). */
export const RedisConfigSchema = z.strictObject({
  url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
  keyPrefix: z
    .string()
    .min(1)
    .regex(/^[^{}\s]+$/, 'no braces or spaces')
    .default('healcast'),
  /** Lifetime of fire markers and cooldown records: far longer than any re-processing. */
  markerTtl: DurationMs.default(7 * 86_400_000),
  /** Approximate cap of the actions stream; trimming drops pending entries, keep it large. */
  streamMaxLen: z.number().int().positive().default(1_000_000),
});

/** Settings of the embedded demo: replay a trace instead of reading Kafka. */
export const ReplayConfigSchema = z.strictObject({
  /** CSV (`timestamp,value` with a header) to replay; default: the trace shipped in src/demo. */
  trace: z.string().min(1).optional(),
  /** Metric name and labels given to the replayed values. */
  metric: z.string().min(1).default('http_requests_per_minute'),
  labels: z.record(z.string(), z.string()).default({ service: 'nasa-web' }),
  /** Trace time per wall time: 600 replays one trace minute every 100 ms. */
  speed: z.number().positive().default(600),
  /** Start again from the top when the trace ends (with time moving on). */
  loop: z.boolean().default(false),
});

/** Forecasting: the model, its budget, and what is shown for inspection. */
export const ForecastConfigSchema = z.strictObject({
  /** Off: baseline-only scoring, reactive triggers only. */
  enabled: z.boolean().default(true),
  /** Model registry: versioned model directories and current.json (default: the shipped models/). */
  models: z.string().min(1).optional(),
  /** How often to look for a newly promoted model (hot reload). */
  reloadInterval: DurationMs.default(15_000),
  /** Wall-clock budget of one forecasting round; the rest waits for the next round. */
  budget: DurationMs.default(250),
  /** Rows per inference call (one tensor each). */
  maxBatch: z.number().int().min(1).max(65_536).default(4096),
  /** Series keys always exported as forecasts in /metrics and listed on /ui. */
  series: z.array(z.string().min(1)).default([]),
  /** Plus this many series with the highest breach probability. */
  topK: z.number().int().min(0).max(1000).default(10),
  /** Record predictive fires of every policy without enqueuing them (a global dry run). */
  forecastOnly: z.boolean().default(false),
  /** Forecast step (1-based) at which live forecasts are scored against actuals. */
  qualityHorizonSteps: z.number().int().min(1).default(4),
  /** How long a family must do worse (or better) than naive to enter (or leave) fallback. */
  fallbackAfter: DurationMs.default(30 * 60_000),
});
export type ForecastConfig = z.output<typeof ForecastConfigSchema>;

/**
 * The worker's configuration: defaults < config file < environment < command line, validated
 * once at start with every problem reported by its path.
 */
export const WorkerConfigSchema = z
  .strictObject({
    mode: z.enum(['embedded', 'kafka']).default('embedded'),
    logLevel: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(9464),
      })
      .default({ host: '127.0.0.1', port: 9464 }),
    /** Healing-policy file (YAML or JSON); the embedded mode defaults to the demo policies. */
    policies: z.string().min(1).optional(),
    kafka: KafkaConfigSchema.optional(),
    redis: RedisConfigSchema.optional(),
    baseline: BaselineConfigSchema.default(BaselineConfigSchema.parse({})),
    /**
     * The rich streaming anomaly detector (what `healcast nab` scores) for the metrics listed in
     * `detector.metrics` (`"*"`: all); the others keep the plain EWMA anomaly score.
     */
    detector: DetectorConfigSchema.default(DEFAULT_DETECTOR_CONFIG),
    /** Most series kept in memory; beyond it the least recently seen is evicted. */
    maxSeries: z.number().int().positive().default(1_000_000),
    /**
     * Where decoding and scoring run: `thread` (a worker thread, overlapping with fetching on
     * another core), `inline` (the main thread), or `auto` (a thread in Kafka mode on machines
     * with at least two cores).
     */
    processing: z.enum(['auto', 'thread', 'inline']).default('auto'),
    /** Batches decoded but not yet durable before fetching waits (memory bound, backpressure). */
    maxInFlightBatches: z.number().int().min(1).max(64).default(4),
    limits: DecodeLimitsSchema.default(DecodeLimitsSchema.parse({})),
    retry: z
      .strictObject({ initial: DurationMs.default(100), max: DurationMs.default(5_000) })
      .default({ initial: 100, max: 5_000 }),
    replay: ReplayConfigSchema.default(ReplayConfigSchema.parse({})),
    forecast: ForecastConfigSchema.default(ForecastConfigSchema.parse({})),
  })
  .superRefine((config, ctx) => {
    if (config.mode === 'kafka') {
      if (!config.kafka) {
        ctx.addIssue({
          code: 'custom',
          path: ['kafka'],
          message: 'kafka mode needs kafka.brokers (or KAFKA_BROKERS)',
        });
      }
      if (!config.redis) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis'],
          message: 'kafka mode needs redis.url (or REDIS_URL)',
        });
      }
      if (!config.policies) {
        ctx.addIssue({
          code: 'custom',
          path: ['policies'],
          message: 'kafka mode needs a policy file (--policies or HEALCAST_POLICIES)',
        });
      }
    }
    const deploymentsTopic = config.kafka?.deploymentsTopic;
    if (
      deploymentsTopic !== undefined &&
      (config.kafka?.topics.includes(deploymentsTopic) === true ||
        config.kafka?.deadLetterTopic === deploymentsTopic)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'deploymentsTopic'],
        message: `must differ from kafka.topics and kafka.deadLetterTopic: one topic cannot hold both deployments and ${config.kafka?.deadLetterTopic === deploymentsTopic ? 'dead letters' : 'metrics'}`,
      });
    }
    if (config.kafka && config.kafka.heartbeatInterval * 3 > config.kafka.sessionTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'heartbeatInterval'],
        message: `must be at most a third of kafka.sessionTimeout (${config.kafka.sessionTimeout} ms): try ${Math.floor(config.kafka.sessionTimeout / 3)}`,
      });
    }
    if (config.retry.initial > config.retry.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'initial'],
        message: 'must not exceed retry.max',
      });
    }
  });

/** Kafka settings, validated. */
export type KafkaConfig = z.output<typeof KafkaConfigSchema>;

/** Every topic the worker's consumer group reads: the metric topics, then the deployments topic. */
export function subscribedTopics(kafka: KafkaConfig): string[] {
  return kafka.deploymentsTopic === undefined
    ? [...kafka.topics]
    : [...kafka.topics, kafka.deploymentsTopic];
}

/** Validated configuration; durations in milliseconds. */
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

/**
 * Environment variables the worker reads, and where each goes. The only place that knows
 * their names (the README table is generated from the same list by hand: keep in step).
 */
export const ENVIRONMENT: readonly {
  name: string;
  path: string;
  kind: 'string' | 'list' | 'int' | 'bool';
}[] = [
  { name: 'KAFKA_BROKERS', path: 'kafka.brokers', kind: 'list' },
  { name: 'REDIS_URL', path: 'redis.url', kind: 'string' },
  { name: 'HEALCAST_POLICIES', path: 'policies', kind: 'string' },
  { name: 'HEALCAST_TOPICS', path: 'kafka.topics', kind: 'list' },
  { name: 'HEALCAST_GROUP_ID', path: 'kafka.groupId', kind: 'string' },
  { name: 'HEALCAST_DEAD_LETTER_TOPIC', path: 'kafka.deadLetterTopic', kind: 'string' },
  { name: 'HEALCAST_DEPLOYMENTS_TOPIC', path: 'kafka.deploymentsTopic', kind: 'string' },
  { name: 'HEALCAST_FORMAT', path: 'kafka.format', kind: 'string' },
  { name: 'HEALCAST_REDIS_PREFIX', path: 'redis.keyPrefix', kind: 'string' },
  { name: 'HEALCAST_HTTP_HOST', path: 'http.host', kind: 'string' },
  { name: 'HEALCAST_HTTP_PORT', path: 'http.port', kind: 'int' },
  { name: 'HEALCAST_LOG_LEVEL', path: 'logLevel', kind: 'string' },
  { name: 'HEALCAST_MAX_SERIES', path: 'maxSeries', kind: 'int' },
  { name: 'HEALCAST_DETECTOR_METRICS', path: 'detector.metrics', kind: 'list' },
  { name: 'HEALCAST_MODELS', path: 'forecast.models', kind: 'string' },
  { name: 'HEALCAST_FORECAST_ONLY', path: 'forecast.forecastOnly', kind: 'bool' },
];
