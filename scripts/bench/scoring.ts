/**
 * Core scoring cost per point, in a fresh process (`--expose-gc`): how long one sample takes
 * from series key to policy decision, decoding excluded, and for comparison the same with
 * decoding (`Processor.processBatch` on raw JSON records).
 *
 * The samples are decoded once by the real decoder (so they have the decoder's object shape)
 * and then re-stamped in place before every pass: each pass feeds one sample of every series
 * with a later timestamp and a new value, outside the timed region. `Processor` takes raw
 * records only, so the decoded path calls its private `processSample` — the exact code
 * `processBatch` runs per sample — and a loop that mirrors it from the public pieces
 * (SeriesTable.touchSeries → observe → BreachTracker.observe) cross-checks it and
 * breaks the cost down.
 */
import { BaselineArrays, BaselineConfigSchema, observe } from '../../src/baseline/ewma.js';
import { SeriesTable, seriesKey } from '../../src/baseline/seriesTable.js';
import { targetKeyOf, type Fire } from '../../src/dispatch/envelope.js';
import { decodeMessage } from '../../src/ingest/decode.js';
import { DEFAULT_DECODE_LIMITS } from '../../src/ingest/limits.js';
import type { MetricSample } from '../../src/ingest/sample.js';
import type { SourceRecord } from '../../src/ingest/source.js';
import { toPipelinePolicy, type PipelinePolicy } from '../../src/pipeline/pipelinePolicy.js';
import { Processor, type BatchStats } from '../../src/pipeline/processor.js';
import { BreachTracker, isBreaching } from '../../src/policy/breach.js';
import { parsePolicies } from '../../src/policy/load.js';
import { emitResult, median, progress, readJob } from './common.js';
import { BENCH_POLICIES, STEP_MS, jsonMessage, noiseSource, valueOf } from './data.js';

/** What the parent asks for. */
export interface ScoringJob {
  readonly series: number;
  /** Points timed per variant for the decoded-sample paths (split over `runs`). */
  readonly points: number;
  /** Points timed for the raw-record paths (decoding included). */
  readonly decodePoints: number;
  readonly runs: number;
  /** Untimed passes (one point per series each) before the timed runs. */
  readonly warmupPasses: number;
  /** Capacity of the series table (the production default is 1,000,000). */
  readonly maxSeries: number;
}

/** Timings of one variant. */
export interface VariantResult {
  readonly name: string;
  readonly description: string;
  readonly pointsTimed: number;
  /** ns per point of each run. */
  readonly runsNsPerPoint: number[];
  readonly medianNsPerPoint: number;
}

/** What the scoring benchmark found. */
export interface ScoringResult {
  readonly series: number;
  readonly maxSeries: number;
  readonly runs: number;
  readonly warmupPasses: number;
  /** True when the private Processor.processSample could be called. */
  readonly usedProcessSample: boolean;
  readonly variants: VariantResult[];
  /** Fires produced per pass in the processSample variant (sanity: policies do fire). */
  readonly firesInProcessSample: number;
}

type Gc = () => void;
const gc: Gc = (globalThis as { gc?: Gc }).gc ?? (() => undefined);

const BASE_MS = 1_750_000_000_000;
const baseline = BaselineConfigSchema.parse({});
const policies = parsePolicies(BENCH_POLICIES, 'bench-policies.yaml')
  .filter((p) => p.enabled)
  .map(toPipelinePolicy);

function newStats(): BatchStats {
  return {
    messagesOk: 0,
    messagesPartial: 0,
    messagesDeadLettered: 0,
    messagesReplayed: 0,
    samplesScored: 0,
    samplesOutOfOrder: 0,
    samplesDuplicate: 0,
    samplesStale: 0,
    evictions: 0,
    targetUnresolved: 0,
    deadLetterReasons: new Map(),
    maxEventTimeMs: NaN,
  };
}

function newProcessor(maxSeries: number): Processor {
  return new Processor({
    policies,
    baseline,
    maxSeries,
    format: 'auto',
    limits: DEFAULT_DECODE_LIMITS,
  });
}

/** Timestamp of pass `step`; `nowMs` given to the core is always past the newest sample. */
const tsOf = (step: number): number => BASE_MS + step * STEP_MS;
const NOW_MS = BASE_MS + 10_000_000 * STEP_MS;

/**
 * Runs `warmup` untimed passes, then `runs` runs of `passesPerRun` timed passes. `prepare`
 * sets up pass `step` (untimed), `pass` does it (timed).
 */
function measure(
  name: string,
  description: string,
  job: ScoringJob,
  points: number,
  prepare: (step: number) => void,
  pass: () => void,
): VariantResult {
  const passesPerRun = Math.max(1, Math.round(points / job.runs / job.series));
  let step = 0;
  for (let w = 0; w < job.warmupPasses; w++) {
    prepare(step++);
    pass();
  }
  const runsNsPerPoint: number[] = [];
  for (let r = 0; r < job.runs; r++) {
    gc();
    let ns = 0n;
    for (let p = 0; p < passesPerRun; p++) {
      prepare(step++);
      const t0 = process.hrtime.bigint();
      pass();
      ns += process.hrtime.bigint() - t0;
    }
    runsNsPerPoint.push(Number(ns) / (passesPerRun * job.series));
  }
  const result = {
    name,
    description,
    pointsTimed: passesPerRun * job.runs * job.series,
    runsNsPerPoint,
    medianNsPerPoint: median(runsNsPerPoint),
  };
  progress(`${name}: ${result.medianNsPerPoint.toFixed(0)} ns/point (median of ${job.runs} runs)`);
  return result;
}

/** One decoded sample per series, exactly as the decoder builds them. */
function decodedSamples(series: number): MetricSample[] {
  const noise = noiseSource(7);
  const samples: MetricSample[] = [];
  for (let s = 0; s < series; s++) {
    const bytes = Buffer.from(jsonMessage(s, 0, tsOf(0), noise()));
    const { samples: decoded, problems } = decodeMessage(bytes, {
      format: 'auto',
      nowMs: NOW_MS,
      limits: DEFAULT_DECODE_LIMITS,
    });
    const sample = decoded[0];
    if (sample === undefined || problems.length > 0) throw new Error('bench data did not decode');
    samples.push(sample);
  }
  return samples;
}

/** Re-stamps every sample for pass `step` (in place: the objects keep the decoder's shape). */
function restamp(samples: MetricSample[], noise: () => number): (step: number) => void {
  return (step) => {
    const tsMs = tsOf(step);
    for (let s = 0; s < samples.length; s++) {
      const sample = samples[s] as MetricSample;
      sample.timestampMs = tsMs;
      sample.value = valueOf(s, step, noise());
    }
  };
}

interface ProcessorInternals {
  processSample(sample: MetricSample, nowMs: number, stats: BatchStats, fires: Fire[]): void;
}

/**
 * The per-sample path of Processor.processSample, rebuilt from the public pieces, without
 * building action envelopes for fires (a handful per pass): a cross-check of the private call.
 */
class MirrorCore {
  private readonly table: SeriesTable;
  private readonly baselines: BaselineArrays;
  private readonly policiesOfSlot: (readonly number[])[] = [];
  private readonly trackers: BreachTracker[];
  private readonly policiesByMetric = new Map<string, number[]>();
  fires = 0;

  constructor(
    maxSeries: number,
    private readonly rules: readonly PipelinePolicy[],
  ) {
    this.table = new SeriesTable(maxSeries);
    this.baselines = new BaselineArrays(maxSeries);
    this.trackers = rules.map((p) => new BreachTracker(p));
    rules.forEach((policy, index) => {
      const list = this.policiesByMetric.get(policy.metric) ?? [];
      list.push(index);
      this.policiesByMetric.set(policy.metric, list);
    });
  }

  process(sample: MetricSample): void {
    const { slot, isNew } = this.table.touchSeries(sample.name, sample.labels);
    if (isNew) {
      this.baselines.reset(slot);
      const candidates = this.policiesByMetric.get(sample.name) ?? [];
      this.policiesOfSlot[slot] = candidates.filter((i) =>
        (this.rules[i] as PipelinePolicy).matches(sample.labels),
      );
    }
    const seen = (this.baselines.count[slot] as number) > 0;
    if (seen && sample.timestampMs <= (this.baselines.lastTsMs[slot] as number)) return;
    observe(this.baselines, slot, sample.value, sample.timestampMs, baseline);
    for (const index of this.policiesOfSlot[slot] ?? []) {
      const policy = this.rules[index] as PipelinePolicy;
      const tracker = this.trackers[index] as BreachTracker;
      if (!isBreaching(policy, sample.value)) {
        tracker.forget(slot);
        continue;
      }
      const target = policy.resolveTarget(sample.labels);
      if (target === undefined) continue;
      const cooldownKey = `${policy.name}|${targetKeyOf(target)}`;
      const decision = tracker.observe(slot, sample.value, sample.timestampMs, cooldownKey);
      if (decision.kind !== 'fire') continue;
      tracker.startCooldown(cooldownKey, sample.timestampMs);
      this.fires++;
    }
  }
}

function main(): void {
  const job = readJob<ScoringJob>();
  const samples = decodedSamples(job.series);
  const variants: VariantResult[] = [];
  let sink = 0;

  // 1. The real per-sample path, decoding excluded.
  const processor = newProcessor(job.maxSeries);
  const internals = processor as unknown as ProcessorInternals;
  const usedProcessSample = typeof internals.processSample === 'function';
  let firesInProcessSample = 0;
  if (usedProcessSample) {
    variants.push(
      measure(
        'processSample',
        'Processor.processSample on decoded samples: key, table, EWMA, policies, fires',
        job,
        job.points,
        restamp(samples, noiseSource(1)),
        () => {
          const stats = newStats();
          const fires: Fire[] = [];
          for (let i = 0; i < samples.length; i++)
            internals.processSample(samples[i] as MetricSample, NOW_MS, stats, fires);
          firesInProcessSample += fires.length;
        },
      ),
    );
  }

  // 2. The same path rebuilt from the public pieces.
  const mirror = new MirrorCore(job.maxSeries, policies);
  variants.push(
    measure(
      'mirror',
      'SeriesTable.touchSeries + observe + BreachTracker (no envelopes)',
      job,
      job.points,
      restamp(samples, noiseSource(1)),
      () => {
        for (let i = 0; i < samples.length; i++) mirror.process(samples[i] as MetricSample);
      },
    ),
  );

  // 3. Break-down.
  const breakdownPoints = Math.max(job.series, Math.round(job.points / 5));
  variants.push(
    measure(
      'seriesKey',
      'seriesKey(name, labels) only',
      job,
      breakdownPoints,
      () => undefined,
      () => {
        for (let i = 0; i < samples.length; i++) {
          const sample = samples[i] as MetricSample;
          sink += seriesKey(sample.name, sample.labels).length;
        }
      },
    ),
  );
  const table = new SeriesTable(job.maxSeries);
  variants.push(
    measure(
      'touchSeries',
      'SeriesTable.touchSeries (hash name+labels, chain lookup, in-place compare, LRU move)',
      job,
      breakdownPoints,
      () => undefined,
      () => {
        for (let i = 0; i < samples.length; i++) {
          const sample = samples[i] as MetricSample;
          sink += table.touchSeries(sample.name, sample.labels).slot;
        }
      },
    ),
  );
  const arrays = new BaselineArrays(job.maxSeries);
  variants.push(
    measure(
      'observe',
      'EWMA observe only (slot known)',
      job,
      breakdownPoints,
      restamp(samples, noiseSource(1)),
      () => {
        for (let i = 0; i < samples.length; i++) {
          const sample = samples[i] as MetricSample;
          sink += observe(arrays, i, sample.value, sample.timestampMs, baseline).score;
        }
      },
    ),
  );

  // 4. Decoding included: raw JSON records through processBatch, in worker-sized batches.
  const batchSize = 5_000;
  const recordNoise = noiseSource(3);
  let batches: SourceRecord[][] = [];
  const buildRecords = (step: number): void => {
    batches = [];
    for (let start = 0; start < job.series; start += batchSize) {
      const batch: SourceRecord[] = [];
      for (let s = start; s < Math.min(start + batchSize, job.series); s++) {
        batch.push({
          topic: 'metrics',
          partition: 0,
          offset: String(step * job.series + s),
          key: null,
          value: Buffer.from(jsonMessage(s, step, tsOf(step), recordNoise())),
          timestampMs: tsOf(step),
        });
      }
      batches.push(batch);
    }
  };
  const withDecode = newProcessor(job.maxSeries);
  variants.push(
    measure(
      'processBatch',
      'Processor.processBatch on raw JSON records (decode + score), batches of 5,000',
      job,
      job.decodePoints,
      buildRecords,
      () => {
        for (const batch of batches) sink += withDecode.processBatch(batch, NOW_MS).fires.length;
      },
    ),
  );
  const decodeOptions = { format: 'auto', nowMs: NOW_MS, limits: DEFAULT_DECODE_LIMITS } as const;
  variants.push(
    measure(
      'decodeMessage',
      'decodeMessage only (UTF-8 + JSON.parse + validation)',
      job,
      job.decodePoints,
      buildRecords,
      () => {
        for (const batch of batches)
          for (const record of batch)
            sink += decodeMessage(record.value, decodeOptions).samples.length;
      },
    ),
  );

  if (sink === -1) progress('unreachable');
  emitResult({
    series: job.series,
    maxSeries: job.maxSeries,
    runs: job.runs,
    warmupPasses: job.warmupPasses,
    usedProcessSample,
    variants,
    firesInProcessSample,
  } satisfies ScoringResult);
}

main();
