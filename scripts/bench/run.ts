/**
 * `npm run bench`: healcast's benchmarks (see BENCHMARKS.md).
 *
 *  1. End-to-end messages/s through the worker on the real broker, against a raw kafkajs
 *     consumer that only counts the same messages, in the same run (target ratio ≥ 0.8).
 *  2. Core scoring cost per point, decoding excluded (target ≤ 1 µs), and with decoding.
 *  3. Memory per live series (target: 1M series in ≤ 1.5 GB RSS), and evictions past the cap.
 *  4. Batched inference throughput of the shipped forecasting model, wasm and cpu backends
 *     in the same run (target ≥ 100,000 series forecasts/s on wasm), and tensor leaks.
 *  5. Training time of `healcast train` on a fixed subsample (no target).
 *
 * Prints the machine and a table of figures on stdout (progress on stderr) and writes the raw
 * results to .cache/bench/results-<date>.json. Each measurement runs in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, mib, nowMs, progress, ROOT, runChild, table, verdict } from './common.js';
import { defaultCacheDir, runE2e, type E2eOptions, type E2eResult, type RoundMode } from './e2e.js';
import { describeMachine, type MachineInfo } from './machine.js';
import type { MemoryJob, MemoryReading, MemoryResult } from './memory.js';
import type { ProfileSummary } from './profile.js';
import type { InferenceJob, InferenceResult } from './inference.js';
import type { ScoringJob, ScoringResult } from './scoring.js';
import { runTraining, type TrainingOptions, type TrainingResult } from './training.js';

/** The targets of the issue. */
const TARGETS = {
  /** Worker msgs/s over raw-consumer msgs/s. */
  e2eRatio: 0.8,
  /** ns per point, decoding excluded. */
  scoringNs: 1_000,
  /** RSS with 1,000,000 live series (1.5 GB, decimal). */
  rssFor1M: 1.5e9,
  /** Series forecasts per second, batched, on the wasm backend. */
  inferenceRate: 100_000,
} as const;

const SECTIONS = ['e2e', 'scoring', 'memory', 'inference', 'training'] as const;

const USAGE = `npm run bench -- [options]

  --only LIST            sections to run, comma-separated:
                         e2e,scoring,memory,inference,training (default: all)
  --quick                smoke test: 20k messages (too few steps for any forecast), 1 round,
                         no profile; 20k scoring series, 1M points; 100k memory series;
                         short inference runs; 5k training windows, 2 epochs
  End-to-end (needs Kafka and Redis: KAFKA_BROKERS / REDIS_URL, else scripts/services.sh up):
  --messages N           messages produced once and read by every round (default 200000)
  --series N             distinct series in those messages (default 1000)
  --rounds N             rounds of raw, worker (and worker with forecasting off), order
                         rotating (default 3)
  --bad-ratio R          share of malformed messages, dead-lettered by the worker (default 0.0001)
  --compression C        none|gzip|snappy|lz4|zstd (default none)
  --no-profile           skip the extra raw and worker rounds under --cpu-prof (their
                         summary says where the worker's time goes)
  --keep-topics          keep the benchmark topics and consumer groups afterwards
  --no-forecast-off      skip the worker rounds with forecasting off (by default each round
                         also runs the worker with forecast.enabled false, for comparison)
  Scoring:
  --scoring-series N     distinct series (default 100000)
  --scoring-points N     points timed per decoded-sample variant (default 10000000)
  --decode-points N      points timed with decoding (default 2000000)
  --scoring-runs N       timed runs per variant, the median is reported (default 5)
  Memory:
  --memory-series N      live series (default 1000000); a second run feeds twice as many
                         into a table of that size
  Inference (the model models/current.json names; one process per backend):
  --inference-batches L  rows per forecastBatch call, comma-separated (default 256,1024,4096)
  --inference-runs N     timed runs per batch size, the median is reported (default 5)
  --inference-run-ms N   each run lasts at least this long (default 1000)
  Training (node bin/healcast.js train into a temporary folder; models/ is untouched):
  --train-windows N      --max-windows (default 20000)
  --train-epochs N       --epochs (default 5)
`;

interface Options {
  sections: Set<string>;
  e2e: Omit<E2eOptions, 'brokers' | 'redisUrl'>;
  scoring: ScoringJob;
  memorySeries: number;
  inference: Omit<InferenceJob, 'backend' | 'modelDir'>;
  training: TrainingOptions;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      messages: { type: 'string' },
      series: { type: 'string' },
      rounds: { type: 'string' },
      'bad-ratio': { type: 'string' },
      compression: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      'keep-topics': { type: 'boolean', default: false },
      'scoring-series': { type: 'string' },
      'scoring-points': { type: 'string' },
      'decode-points': { type: 'string' },
      'scoring-runs': { type: 'string' },
      'memory-series': { type: 'string' },
      'no-forecast-off': { type: 'boolean', default: false },
      'inference-batches': { type: 'string' },
      'inference-runs': { type: 'string' },
      'inference-run-ms': { type: 'string' },
      'train-windows': { type: 'string' },
      'train-epochs': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const int = (name: string, text: string | undefined, fallback: number, min = 1): number => {
    if (text === undefined) return fallback;
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}`);
    return n;
  };
  const compression = values.compression ?? 'none';
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(compression)) {
    throw new Error('--compression: expected none, gzip, snappy, lz4 or zstd');
  }
  const badRatio = Number(values['bad-ratio'] ?? '0.0001');
  if (!(badRatio >= 0 && badRatio < 1)) throw new Error('--bad-ratio: expected 0 ≤ R < 1');
  const sections = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
  for (const s of sections) {
    if (!(SECTIONS as readonly string[]).includes(s)) {
      throw new Error(`--only: unknown section ${s} (expected ${SECTIONS.join(', ')})`);
    }
  }
  const batchSizes = (values['inference-batches'] ?? '256,1024,4096')
    .split(',')
    .map((b) => int('inference-batches', b.trim(), NaN));
  const scoringSeries = int('scoring-series', values['scoring-series'], quick ? 20_000 : 100_000);
  return {
    sections,
    e2e: {
      messages: int('messages', values.messages, quick ? 20_000 : 200_000),
      series: int('series', values.series, 1_000),
      rounds: int('rounds', values.rounds, quick ? 1 : 3),
      badRatio,
      compression: compression as E2eOptions['compression'],
      profile: !values['no-profile'] && !quick,
      keepTopics: values['keep-topics'],
      cacheDir: defaultCacheDir(),
      forecastOffRounds: !values['no-forecast-off'],
    },
    scoring: {
      series: scoringSeries,
      points: int('scoring-points', values['scoring-points'], quick ? 1_000_000 : 10_000_000),
      decodePoints: int('decode-points', values['decode-points'], quick ? 200_000 : 2_000_000),
      runs: int('scoring-runs', values['scoring-runs'], 5),
      warmupPasses: 5,
      maxSeries: Math.max(1_000_000, scoringSeries),
    },
    memorySeries: int('memory-series', values['memory-series'], quick ? 100_000 : 1_000_000),
    inference: {
      batchSizes,
      runs: int('inference-runs', values['inference-runs'], quick ? 3 : 5),
      minRunMs: int('inference-run-ms', values['inference-run-ms'], quick ? 300 : 1_000),
      poolRows: 2 * Math.max(...batchSizes),
      seed: 7,
      sampleRows: 64,
    },
    training: {
      maxWindows: int('train-windows', values['train-windows'], quick ? 5_000 : 20_000),
      epochs: int('train-epochs', values['train-epochs'], quick ? 2 : 5),
    },
  };
}

/** KAFKA_BROKERS / REDIS_URL from the environment, else from `scripts/services.sh up`. */
function serviceAddresses(): { brokers: string[]; redisUrl: string } {
  let brokers = process.env.KAFKA_BROKERS;
  let redisUrl = process.env.REDIS_URL;
  if (brokers === undefined || redisUrl === undefined) {
    progress('KAFKA_BROKERS/REDIS_URL not set: bash scripts/services.sh up');
    const up = spawnSync('bash', [join(ROOT, 'scripts', 'services.sh'), 'up'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (up.status !== 0) throw new Error('scripts/services.sh up failed');
    brokers ??= /^KAFKA_BROKERS=(.+)$/m.exec(up.stdout)?.[1];
    redisUrl ??= /^REDIS_URL=(.+)$/m.exec(up.stdout)?.[1];
  }
  if (brokers === undefined || redisUrl === undefined) {
    throw new Error('could not find the Kafka and Redis addresses');
  }
  return { brokers: brokers.split(',').map((b) => b.trim()), redisUrl: redisUrl.trim() };
}

interface MemorySection {
  readonly live: MemoryResult;
  readonly evicting: MemoryResult;
}

interface InferenceSection {
  readonly modelDir: string;
  readonly wasm: InferenceResult;
  readonly cpu: InferenceResult;
  /** Largest |wasm − cpu| over the sample rows' outputs (normalised units, σ of the window). */
  readonly maxAbsDiff: number;
}

interface Results {
  readonly machine: MachineInfo;
  readonly command: string;
  readonly options: Options['e2e'] & {
    scoring: ScoringJob;
    memorySeries: number;
    inference: Options['inference'];
    training: TrainingOptions;
  };
  e2e?: E2eResult;
  scoring?: ScoringResult;
  memory?: MemorySection;
  inference?: InferenceSection;
  training?: TrainingResult;
  loadAverageAtEnd?: number;
  durationSeconds?: number;
}

function printMachine(m: MachineInfo, command: string): void {
  console.log('healcast benchmarks');
  console.log(`  date      ${m.date}   (git ${m.gitCommit})`);
  console.log(`  command   ${command}`);
  console.log(
    `  machine   ${m.cpuModel}, ${m.cores} cores, ${fmt(m.totalMemoryBytes / 2 ** 30, 1)} GiB RAM, ${m.os}`,
  );
  console.log(
    `  runtime   Node ${m.node} (V8 ${m.v8}), kafkajs ${m.kafkajs}, ioredis ${m.ioredis}, TensorFlow.js ${m.tfjs}`,
  );
  console.log(`  services  ${m.kafkaBroker}; Redis ${m.redisServer}`);
  console.log(
    `  load avg  ${fmt(m.loadAverageAtStart, 2)} (1 min) at start: shared machine, expect noise`,
  );
  console.log('');
}

function printE2e(e: E2eResult): void {
  console.log(
    `1. End-to-end on the real broker: ${fmt(e.messages)} messages (${fmt(e.malformed)} malformed), ${fmt(e.series)} series, ${e.partitions} partitions, ${fmt(e.payloadBytes / e.messages, 0)} B/message, compression ${e.compression}`,
  );
  const first = e.rounds[0];
  if (first) {
    const c = first.raw.consumer;
    console.log(
      `   all consumers: maxBytesPerPartition ${fmt(c.maxBytesPerPartition)}, sessionTimeout ${fmt(c.sessionTimeoutMs)} ms, heartbeat ${fmt(c.heartbeatIntervalMs)} ms, partitionsConsumedConcurrently 1, eachBatch, kafkajs fetch defaults; commit after every batch (raw: kafkajs autoCommit, worker: its own commitOffsets)`,
    );
    const model = first.worker.worker?.model;
    console.log(
      `   worker = the default configuration: forecasting with ${model ? `model ${model.version} on ${model.backend}` : 'NO MODEL LOADED'} (every series a policy selects, at every step once its window is full; cpu-high is predictive)${first.workerNoForecast ? '; "worker, no forecast" = the same with forecast.enabled false' : ''}`,
    );
  }
  const label: Record<RoundMode, string> = {
    raw: 'raw',
    worker: 'worker',
    workerNoForecast: 'worker, no forecast',
  };
  const rows: string[][] = [];
  e.rounds.forEach((r, i) => {
    for (const mode of r.order) {
      const x = r[mode];
      if (x === undefined) continue;
      const w = x.worker;
      rows.push([
        `round ${i + 1} ${label[mode]} (${r.order.indexOf(mode) + 1}.)`,
        fmt(x.steadyRate),
        fmt(x.totalRate),
        fmt(x.startupMs),
        fmt(x.totalMs),
        fmt(x.committedMs),
        fmt(x.cpuUsPerMessage, 2),
        fmt(x.batches),
        w ? fmt(w.forecasts) : '',
        w && w.forecasts > 0 ? fmt(w.inferenceSeconds * 1000) : '',
        w
          ? `${fmt(w.actionsInStream)} actions${
              w.actionsInStream === 0
                ? ''
                : ` (${Object.entries(w.actionsByTrigger)
                    .map(([k, v]) => `${fmt(v)} ${k}`)
                    .join(', ')})`
            }, ${fmt(w.deadLetters)} DLQ`
          : '',
      ]);
    }
  });
  console.log(
    table(
      [
        '',
        'msg/s steady',
        'msg/s from start',
        'startup ms',
        'to N ms',
        'committed ms',
        'CPU µs/msg',
        'batches',
        'forecasts',
        'inference ms',
        'effects',
      ],
      rows,
    ),
  );
  const skipped = e.rounds.flatMap((r) =>
    [r.worker, r.workerNoForecast].map((x) => {
      const by = x?.worker?.samplesByOutcome ?? {};
      return Object.entries(by).reduce((n, [k, v]) => (k === 'scored' ? n : n + v), 0);
    }),
  );
  const scored = e.rounds.map((r) => r.worker.worker?.samplesScored ?? NaN);
  console.log(
    `  samples scored per worker round: ${[...new Set(scored)].map((n) => fmt(n)).join(', ')} of ${fmt(e.messages - e.malformed)}; ${skipped.every((n) => n === 0) ? 'none out of order, duplicate or stale' : `WARNING: ${fmt(Math.max(...skipped))} samples skipped (out of order, duplicate or stale): the figures do not measure full scoring`}`,
  );
  const m = e.median;
  const off = m.noForecastSteadyRate !== undefined;
  console.log('');
  console.log(
    table(
      [
        'median',
        'raw kafkajs',
        'healcast worker',
        ...(off ? ['worker, no forecast'] : []),
        'worker/raw',
        ...(off ? ['no forecast/raw'] : []),
        'target',
        'verdict (worker)',
      ],
      [
        [
          'msg/s steady (first batch → N)',
          fmt(m.rawSteadyRate),
          fmt(m.workerSteadyRate),
          ...(off ? [fmt(m.noForecastSteadyRate ?? NaN)] : []),
          fmt(m.steadyRatio, 2),
          ...(off ? [fmt(m.noForecastSteadyRatio ?? NaN, 2)] : []),
          `≥ ${TARGETS.e2eRatio}`,
          verdict(m.steadyRatio, TARGETS.e2eRatio, false),
        ],
        [
          'msg/s from start (incl. join)',
          fmt(m.rawTotalRate),
          fmt(m.workerTotalRate),
          ...(off ? [fmt(m.noForecastTotalRate ?? NaN)] : []),
          fmt(m.totalRatio, 2),
          ...(off ? [fmt((m.noForecastTotalRate ?? NaN) / m.rawTotalRate, 2)] : []),
          `≥ ${TARGETS.e2eRatio}`,
          verdict(m.totalRatio, TARGETS.e2eRatio, false),
        ],
        [
          'CPU µs per message (process)',
          fmt(m.rawCpuUsPerMessage, 2),
          fmt(m.workerCpuUsPerMessage, 2),
          ...(off ? [fmt(m.noForecastCpuUsPerMessage ?? NaN, 2)] : []),
          '',
          ...(off ? [''] : []),
          '',
          '',
        ],
      ],
    ),
  );
  console.log(
    `  paired ratio (median of per-round worker/raw, steady): ${fmt(m.pairedSteadyRatio, 2)}; time inside Worker.handle: ${fmt(m.workerHandlerShare * 100, 0)}% of the worker's run (summed over batches in flight, up to 4 at once)`,
  );
  console.log(
    m.forecasts === 0
      ? '  forecasting per worker round: no forecast made (a series is forecast once it has a full window: 64 steps = 64 × --series messages)'
      : `  forecasting per worker round (median): ${fmt(m.forecasts)} series forecasts in ${fmt(m.inferenceBatches)} batched inferences (${fmt(m.forecasts / m.inferenceBatches, 0)} rows each), ${fmt(m.inferenceSeconds * 1000)} ms inside forecastBatch = ${fmt(m.inferenceShare * 100, 1)}% of the run (t0 → N) on the processor thread, ${fmt(m.forecasts / m.inferenceSeconds)} forecasts/s while inferring`,
  );
  if (m.forecastCostRatio !== undefined) {
    console.log(
      `  forecasting on vs off (median of per-round ratios, steady): ${fmt(m.forecastCostRatio, 2)} (${fmt(Math.abs(1 - m.forecastCostRatio) * 100, 0)}% ${m.forecastCostRatio <= 1 ? 'slower' : 'faster'} with forecasting)`,
    );
  }
  if (e.profiles) {
    console.log(
      `  CPU profiles (open in Chrome DevTools): ${e.runDir.replace(`${ROOT}/`, '')}/profile-{raw,worker}/`,
    );
    const entries: [string, ProfileSummary][] = [
      ['raw round', e.profiles.raw],
      ['worker round, main thread', e.profiles.worker],
      ...(e.profiles.workerThread
        ? [
            [
              'worker round, processor thread (steady window: first batch → N)',
              e.profiles.workerThread,
            ] as [string, ProfileSummary],
          ]
        : []),
    ];
    const thread = e.profiles.workerThread;
    if (thread) {
      const forecasting = thread.areas.filter((a) =>
        /tfjs|WebAssembly|^healcast (forecast|predict)$/.test(a.name),
      );
      const ms = forecasting.reduce((n, a) => n + a.ms, 0);
      console.log(
        `  forecasting on the processor thread (profile, steady window): ${fmt(ms)} ms of ${fmt(thread.busyMs)} ms busy = ${fmt((ms / thread.busyMs) * 100, 0)}% self time in ${forecasting.map((a) => a.name).join(', ')} (the GC and the processor's forecastRound/decidePredictive come on top)`,
      );
    }
    for (const [what, p] of entries) {
      console.log(
        `  CPU profile of a ${what}${what.includes('steady') ? '' : ', start → N handled'} (busy ${fmt(p.busyMs)} ms, idle ${fmt(p.idleMs)} ms), self time by area:`,
      );
      console.log(
        p.areas
          .slice(0, 14)
          .map(
            (a) =>
              `    ${a.name.padEnd(40)} ${fmt(a.ms).padStart(7)} ms ${fmt(a.share * 100, 1).padStart(5)}%`,
          )
          .join('\n'),
      );
      console.log('    hottest functions:');
      console.log(
        p.functions
          .slice(0, what === 'raw round' ? 6 : 12)
          .map((f) => `      ${fmt(f.share * 100, 1).padStart(5)}%  ${f.name}`)
          .join('\n'),
      );
    }
  }
  console.log('');
}

function printScoring(s: ScoringResult): void {
  console.log(
    `2. Core scoring cost per point: ${fmt(s.series)} series (table capacity ${fmt(s.maxSeries)}), ${s.warmupPasses} warm-up passes, median of ${s.runs} runs`,
  );
  const rows = s.variants.map((v) => [
    v.name,
    fmt(v.medianNsPerPoint),
    `${fmt(Math.min(...v.runsNsPerPoint))}–${fmt(Math.max(...v.runsNsPerPoint))}`,
    fmt(v.pointsTimed),
    v.name === 'processSample' ? verdict(v.medianNsPerPoint, TARGETS.scoringNs, true) : '',
    v.description,
  ]);
  console.log(
    table(
      [
        'variant',
        'ns/point',
        'runs min–max',
        'points timed',
        `target ≤ ${TARGETS.scoringNs} ns`,
        'what',
      ],
      rows,
    ),
  );
  console.log('');
}

/**
 * The memory figure judged against the target: with a million live series, the process' peak
 * RSS (the strictest reading: it includes garbage not yet collected); with fewer (`--quick`),
 * the worst RSS after GC projected to a million from the growth per series.
 */
function memoryFigure(result: MemoryResult): { bytes: number; what: string } {
  const base = result.readings[0] as MemoryReading;
  const full = result.readings.filter((r) => r.liveSeries === result.maxSeries);
  const worst = full.reduce<MemoryReading | undefined>(
    (w, r) => (w === undefined || r.rss > w.rss ? r : w),
    undefined,
  );
  if (worst === undefined) return { bytes: NaN, what: 'no reading' };
  if (worst.liveSeries === 1_000_000) {
    return { bytes: result.peakRss, what: 'peak RSS with 1,000,000 live series' };
  }
  return {
    bytes: base.rss + ((worst.rss - base.rss) * 1_000_000) / worst.liveSeries,
    what: `RSS projected to 1M from ${fmt(worst.liveSeries)} series`,
  };
}

function printMemory(mem: MemorySection): void {
  const { live, evicting } = mem;
  console.log(
    `3. Memory per live series: Processor(maxSeries ${fmt(live.maxSeries)}) fed ${fmt(live.series)} distinct series through processBatch, ${live.samplesPerSeries} samples each (e.g. ${live.exampleKey})`,
  );
  const row = (r: MemoryReading, base: MemoryReading): string[] => [
    r.label,
    fmt(r.liveSeries),
    fmt(r.evictions),
    mib(r.rss),
    mib(r.heapUsed),
    mib(r.arrayBuffers),
    r.liveSeries > 0 ? fmt((r.rss - base.rss) / r.liveSeries) : '',
    r.liveSeries > 0
      ? fmt((r.heapUsed + r.arrayBuffers - base.heapUsed - base.arrayBuffers) / r.liveSeries)
      : '',
  ];
  const header = [
    'reading (after full GC)',
    'live',
    'evicted',
    'RSS',
    'heapUsed',
    'arrayBuffers',
    'ΔRSS B/series',
    'Δheap+AB B/series',
  ];
  const base = live.readings[0] as MemoryReading;
  console.log(
    table(
      header,
      live.readings.map((r) => row(r, base)),
    ),
  );
  const figure = memoryFigure(live);
  console.log(
    `  ${figure.what}: ${mib(figure.bytes)} (${fmt(figure.bytes / 1e9, 2)} GB); target ≤ 1.5 GB: ${verdict(figure.bytes, TARGETS.rssFor1M, true)}`,
  );
  console.log(
    `  RSS after full GC: ${live.readings
      .slice(2)
      .map((r) => `${mib(r.rss)} (${r.label})`)
      .join(', ')}`,
  );
  console.log('');
  console.log(
    `   Evictions: ${fmt(evicting.series)} distinct series into maxSeries ${fmt(evicting.maxSeries)}`,
  );
  const ebase = evicting.readings[0] as MemoryReading;
  console.log(
    table(
      header,
      evicting.readings.map((r) => row(r, ebase)),
    ),
  );
  const mid = evicting.readings.find(
    (r) => r.liveSeries === evicting.maxSeries && r.evictions === 0,
  );
  const end = evicting.readings[evicting.readings.length - 1] as MemoryReading;
  const expected = evicting.series - evicting.maxSeries;
  console.log(
    `  evictions counted ${fmt(evicting.evictions)} (expected ${fmt(expected)}: ${evicting.evictions === expected ? 'ok' : 'MISMATCH'}); live series ${fmt(end.liveSeries)}; RSS ${mid ? `${mib(mid.rss)} at the cap → ${mib(end.rss)} after (${fmt(((end.rss - mid.rss) / mid.rss) * 100, 1)}%)` : mib(end.rss)}, heapUsed ${mid ? `${mib(mid.heapUsed)} → ${mib(end.heapUsed)}` : mib(end.heapUsed)}`,
  );
  console.log('');
}

function printInference(x: InferenceSection): void {
  const { wasm, cpu } = x;
  console.log(
    `4. Inference throughput: model ${wasm.modelVersion} (MLP ${[wasm.inputLength, ...wasm.hidden, wasm.outputLength].join(' → ')}, ${fmt(wasm.parameters)} weights; ${wasm.windowSteps}-step window → ${wasm.horizonSteps} steps × ${wasm.quantiles.length} quantiles), TfjsForecaster.forecastBatch on random-walk feature rows (writeInputs), one process per backend, median of the runs`,
  );
  const rows = wasm.sizes.map((w) => {
    const c = cpu.sizes.find((s) => s.batch === w.batch);
    return [
      fmt(w.batch),
      fmt(w.medianRowsPerSecond),
      `${fmt(Math.min(...w.runsRowsPerSecond))}–${fmt(Math.max(...w.runsRowsPerSecond))}`,
      fmt(w.medianMsPerCall, 2),
      c ? fmt(c.medianRowsPerSecond) : '',
      c ? fmt(c.medianMsPerCall, 2) : '',
      c ? `${fmt(w.medianRowsPerSecond / c.medianRowsPerSecond, 1)}x` : '',
      verdict(w.medianRowsPerSecond, TARGETS.inferenceRate, false),
    ];
  });
  console.log(
    table(
      [
        'batch',
        'wasm forecasts/s',
        'wasm runs min–max',
        'wasm ms/call',
        'cpu forecasts/s',
        'cpu ms/call',
        'wasm/cpu',
        `target ≥ ${fmt(TARGETS.inferenceRate)}/s (wasm)`,
      ],
      rows,
    ),
  );
  for (const r of [wasm, cpu]) {
    const t = r.tensors;
    const leaked = t.afterInference - t.afterLoad;
    console.log(
      `  ${r.backend}: load ${fmt(r.loadMs)} ms, first call ${fmt(r.firstCallMs, 1)} ms${r.wasmSimd === null ? '' : `, SIMD ${r.wasmSimd ? 'yes' : 'no'}, threads ${r.wasmThreads ? 'yes' : 'no'}`}; tf.memory().numTensors ${fmt(t.afterLoad)} after load → ${fmt(t.afterInference)} after ${fmt(r.totalCalls)} calls (${leaked === 0 ? 'no leak' : `LEAK: ${fmt(leaked)} tensors`}; ${mib(t.bytesAfterLoad)} → ${mib(t.bytesAfterInference)}) → ${fmt(t.afterDispose)} after dispose`,
    );
  }
  console.log(
    `  same inputs on both backends: largest |wasm − cpu| over ${fmt(wasm.sampleOutputs.length)} outputs = ${x.maxAbsDiff.toExponential(1)} (units of the window's σ); feature rows in JS (windowScale + writeInputs): ${fmt(wasm.featureNsPerRow)} ns/row`,
  );
  console.log('');
}

function printTraining(t: TrainingResult): void {
  console.log(
    `5. Training: ${t.command} (backend ${t.backend}, MLP hidden ${t.hidden.join(',')}, batch ${fmt(t.batchSize)})`,
  );
  console.log(
    `   ${fmt(t.trainWindows)} training windows (of ${fmt(t.trainWindowsAvailable)}), ${fmt(t.earlyStoppingWindows)} early-stopping, ${fmt(t.validationWindows)} validation`,
  );
  console.log(
    table(
      ['epoch', 'seconds', 'windows/s'],
      t.epochSeconds.map((sec, i) => [String(i + 1), fmt(sec, 2), fmt(t.trainWindows / sec)]),
    ),
  );
  const p = t.phases;
  console.log(
    `  median epoch ${fmt(t.medianEpochSeconds, 2)} s (${fmt(t.windowsPerSecond)} windows/s, incl. the early-stopping loss); epochs ${fmt(t.epochsSeconds, 1)} s; phases: load ${fmt(p['load'] ?? NaN, 1)} s, baselines ${fmt(p['baselines'] ?? NaN, 1)} s, train ${fmt(p['train'] ?? NaN, 1)} s, evaluate ${fmt(p['evaluate'] ?? NaN, 1)} s, total ${fmt(p['total'] ?? NaN, 1)} s; process ${fmt(t.wallSeconds, 1)} s wall`,
  );
  console.log(
    `  final loss ${fmt(t.finalLoss, 4)}, early-stopping ${t.finalEarlyStoppingLoss === null ? '–' : fmt(t.finalEarlyStoppingLoss, 4)}; this short run's MASE at 15 min ${t.modelMase15m === null ? '–' : fmt(t.modelMase15m, 3)} (not the shipped model's; see BENCHMARKS.md for its accuracy)`,
  );
  console.log('');
}

function printSummary(r: Results): void {
  const rows: string[][] = [];
  if (r.e2e) {
    rows.push([
      'end-to-end worker/raw msg/s (steady, median)',
      fmt(r.e2e.median.steadyRatio, 2),
      `≥ ${TARGETS.e2eRatio}`,
      verdict(r.e2e.median.steadyRatio, TARGETS.e2eRatio, false),
    ]);
    if (r.e2e.median.noForecastSteadyRatio !== undefined) {
      rows.push([
        'end-to-end worker/raw msg/s (steady), forecasting off',
        fmt(r.e2e.median.noForecastSteadyRatio, 2),
        `≥ ${TARGETS.e2eRatio}`,
        verdict(r.e2e.median.noForecastSteadyRatio, TARGETS.e2eRatio, false),
      ]);
    }
    rows.push([
      'end-to-end worker/raw msg/s (from start, median)',
      fmt(r.e2e.median.totalRatio, 2),
      `≥ ${TARGETS.e2eRatio}`,
      verdict(r.e2e.median.totalRatio, TARGETS.e2eRatio, false),
    ]);
  }
  if (r.scoring) {
    const v = r.scoring.variants.find((x) => x.name === 'processSample') ?? r.scoring.variants[0];
    if (v) {
      rows.push([
        `scoring ns/point, decoding excluded (${v.name})`,
        fmt(v.medianNsPerPoint),
        `≤ ${TARGETS.scoringNs}`,
        verdict(v.medianNsPerPoint, TARGETS.scoringNs, true),
      ]);
    }
    const d = r.scoring.variants.find((x) => x.name === 'processBatch');
    if (d)
      rows.push([
        'scoring ns/point, decoding included (processBatch)',
        fmt(d.medianNsPerPoint),
        '(no target)',
        '',
      ]);
  }
  if (r.memory) {
    const figure = memoryFigure(r.memory.live);
    rows.push([
      figure.what,
      `${fmt(figure.bytes / 1e9, 2)} GB`,
      '≤ 1.5 GB',
      verdict(figure.bytes, TARGETS.rssFor1M, true),
    ]);
  }
  if (r.inference) {
    for (const size of r.inference.wasm.sizes) {
      rows.push([
        `inference forecasts/s, wasm, batch ${fmt(size.batch)}`,
        fmt(size.medianRowsPerSecond),
        `≥ ${fmt(TARGETS.inferenceRate)}`,
        verdict(size.medianRowsPerSecond, TARGETS.inferenceRate, false),
      ]);
    }
    const leaks = [r.inference.wasm, r.inference.cpu].map(
      (x) => x.tensors.afterInference - x.tensors.afterLoad,
    );
    rows.push([
      'tensors leaked by forecastBatch (wasm, cpu)',
      leaks.map((n) => fmt(n)).join(', '),
      '0',
      leaks.every((n) => n === 0) ? 'pass' : 'MISS',
    ]);
  }
  if (r.training) {
    rows.push([
      `training s/epoch (${fmt(r.training.trainWindows)} windows, ${r.training.backend})`,
      fmt(r.training.medianEpochSeconds, 2),
      '(no target)',
      '',
    ]);
    rows.push([
      `training total s (${r.training.epochsRun} epochs, process wall)`,
      fmt(r.training.wallSeconds, 1),
      '(no target)',
      '',
    ]);
  }
  console.log('Summary against the targets');
  console.log(table(['figure', 'measured', 'target', 'verdict'], rows));
}

async function main(): Promise<void> {
  const started = nowMs();
  const options = parseOptions();
  const command = [
    'npm run bench',
    ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
  ].join(' ');
  const services = options.sections.has('e2e') ? serviceAddresses() : undefined;
  const machine = await describeMachine(services?.redisUrl);
  printMachine(machine, command);
  const results: Results = {
    machine,
    command,
    options: {
      ...options.e2e,
      scoring: options.scoring,
      memorySeries: options.memorySeries,
      inference: options.inference,
      training: options.training,
    },
  };

  if (services && options.sections.has('e2e')) {
    process.stderr.write('[1/5] end-to-end throughput\n');
    results.e2e = await runE2e({ ...options.e2e, ...services });
    printE2e(results.e2e);
  }
  if (options.sections.has('scoring')) {
    process.stderr.write('[2/5] core scoring cost\n');
    results.scoring = await runChild<ScoringResult>('scoring.ts', options.scoring, ['--expose-gc']);
    printScoring(results.scoring);
  }
  if (options.sections.has('memory')) {
    process.stderr.write('[3/5] memory per live series\n');
    const n = options.memorySeries;
    const checkpointEvery = Math.min(1_000_000, n);
    const live = await runChild<MemoryResult>(
      'memory.ts',
      { series: n, maxSeries: n, samplesPerSeries: 2, checkpointEvery } satisfies MemoryJob,
      ['--expose-gc'],
    );
    const evicting = await runChild<MemoryResult>(
      'memory.ts',
      { series: 2 * n, maxSeries: n, samplesPerSeries: 1, checkpointEvery } satisfies MemoryJob,
      ['--expose-gc'],
    );
    results.memory = { live, evicting };
    printMemory(results.memory);
  }
  if (options.sections.has('inference')) {
    process.stderr.write('[4/5] inference throughput (wasm, then cpu)\n');
    const modelsRoot = join(ROOT, 'models');
    const current = JSON.parse(readFileSync(join(modelsRoot, 'current.json'), 'utf8')) as {
      version: string;
    };
    const modelDir = join(modelsRoot, current.version);
    const job = (backend: InferenceJob['backend']): InferenceJob => ({
      ...options.inference,
      backend,
      modelDir,
    });
    const wasm = await runChild<InferenceResult>('inference.ts', job('wasm'));
    const cpu = await runChild<InferenceResult>('inference.ts', job('cpu'));
    let maxAbsDiff = 0;
    wasm.sampleOutputs.forEach((v, i) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - (cpu.sampleOutputs[i] ?? NaN)));
    });
    results.inference = { modelDir, wasm, cpu, maxAbsDiff };
    printInference(results.inference);
  }
  if (options.sections.has('training')) {
    process.stderr.write('[5/5] training time\n');
    results.training = await runTraining(options.training);
    printTraining(results.training);
  }

  results.loadAverageAtEnd = os.loadavg()[0] ?? NaN;
  results.durationSeconds = (nowMs() - started) / 1000;
  printSummary(results);
  const dir = defaultCacheDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `results-${machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log('');
  console.log(
    `load avg ${fmt(machine.loadAverageAtStart, 2)} → ${fmt(results.loadAverageAtEnd, 2)}; took ${fmt(results.durationSeconds, 0)} s; raw results: ${file.replace(`${ROOT}/`, '')}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
