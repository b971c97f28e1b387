/**
 * Memory per live series, in a fresh process (`--expose-gc`): a Processor with room for
 * `maxSeries` is fed `series` distinct series through `processBatch` (raw JSON records, as the
 * worker feeds it), `samplesPerSeries` samples each; after every million series fed, and at
 * the end, the heap is collected and process.memoryUsage() read.
 */
import { BaselineConfigSchema } from '../../src/baseline/ewma.js';
import { DEFAULT_DECODE_LIMITS } from '../../src/ingest/limits.js';
import type { SourceRecord } from '../../src/ingest/source.js';
import { toPipelinePolicy } from '../../src/pipeline/pipelinePolicy.js';
import { Processor } from '../../src/pipeline/processor.js';
import { parsePolicies } from '../../src/policy/load.js';
import { emitResult, nowMs, progress, readJob } from './common.js';
import { BENCH_POLICIES, STEP_MS, jsonMessage, noiseSource } from './data.js';

/** What the parent asks for. */
export interface MemoryJob {
  readonly series: number;
  readonly maxSeries: number;
  readonly samplesPerSeries: number;
  /** Take a reading after every this many series fed (and at the end). */
  readonly checkpointEvery: number;
}

/** One process.memoryUsage() reading after a full GC. */
export interface MemoryReading {
  readonly label: string;
  readonly liveSeries: number;
  readonly evictions: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** What the memory benchmark found. */
export interface MemoryResult {
  readonly series: number;
  readonly maxSeries: number;
  readonly samplesPerSeries: number;
  readonly readings: MemoryReading[];
  readonly feedSeconds: number;
  readonly samplesScored: number;
  readonly evictions: number;
  readonly deadLetters: number;
  readonly peakRss: number;
  /** Example series key, to show what a series looks like. */
  readonly exampleKey: string;
}

type Gc = () => void;

function main(): void {
  const gcMaybe = (globalThis as { gc?: Gc }).gc;
  if (gcMaybe === undefined) throw new Error('run with --expose-gc');
  const gc: Gc = gcMaybe;
  const job = readJob<MemoryJob>();
  const readings: MemoryReading[] = [];
  let evictions = 0;
  let samplesScored = 0;
  let deadLetters = 0;
  const read = (label: string, processor?: Processor): void => {
    gc();
    gc();
    const m = process.memoryUsage();
    const reading = {
      label,
      liveSeries: processor?.liveSeries ?? 0,
      evictions,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
    readings.push(reading);
    progress(
      `${label}: rss ${(m.rss / 1_048_576).toFixed(0)} MiB, heapUsed ${(m.heapUsed / 1_048_576).toFixed(0)} MiB, live ${reading.liveSeries}, evictions ${evictions}`,
    );
  };

  read('before the Processor');
  const processor = new Processor({
    policies: parsePolicies(BENCH_POLICIES, 'bench-policies.yaml').map(toPipelinePolicy),
    baseline: BaselineConfigSchema.parse({}),
    maxSeries: job.maxSeries,
    format: 'auto',
    limits: DEFAULT_DECODE_LIMITS,
  });
  read('empty Processor', processor);

  const baseMs = 1_750_000_000_000;
  const currentMs = baseMs + (job.samplesPerSeries + 1) * STEP_MS;
  const noise = noiseSource(11);
  const chunk = 10_000;
  let feedMs = 0;
  for (let step = 0; step < job.samplesPerSeries; step++) {
    for (let start = 0; start < job.series; start += chunk) {
      const records: SourceRecord[] = [];
      const end = Math.min(start + chunk, job.series);
      for (let s = start; s < end; s++) {
        records.push({
          topic: 'metrics',
          partition: 0,
          offset: String(s),
          key: null,
          value: Buffer.from(jsonMessage(s, step, baseMs + step * STEP_MS, noise())),
          timestampMs: baseMs,
        });
      }
      const t0 = nowMs();
      const { stats, deadLetters: letters } = processor.processBatch(records, currentMs);
      feedMs += nowMs() - t0;
      evictions += stats.evictions;
      samplesScored += stats.samplesScored;
      deadLetters += letters.length;
      if (end % job.checkpointEvery === 0 || end === job.series) {
        read(`sample ${step + 1}, ${end.toLocaleString('en-US')} series fed`, processor);
      }
    }
  }

  emitResult({
    series: job.series,
    maxSeries: job.maxSeries,
    samplesPerSeries: job.samplesPerSeries,
    readings,
    feedSeconds: feedMs / 1000,
    samplesScored,
    evictions,
    deadLetters,
    peakRss: process.resourceUsage().maxRSS * 1024,
    exampleKey: 'cpu_utilization{env="prod",host="host-123456",region="eu-1"}',
  } satisfies MemoryResult);
}

main();
