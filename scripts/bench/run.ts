/**
 * `npm run bench`: healcast's benchmarks (see BENCHMARKS.md).
 *
 *  1. End-to-end messages/s through the worker on the real broker, against a raw kafkajs
 *     consumer that only counts the same messages, in the same run (target ratio ≥ 0.8).
 *  2. Core scoring cost per point, decoding excluded (target ≤ 1 µs), and with decoding.
 *  3. Memory per live series (target: 1M series in ≤ 1.5 GB RSS), and evictions past the cap.
 *
 * Prints the machine and a table of figures on stdout (progress on stderr) and writes the raw
 * results to .cache/bench/results-<date>.json. Each measurement runs in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, mib, nowMs, progress, ROOT, runChild, table, verdict } from './common.js';
import { defaultCacheDir, runE2e, type E2eOptions, type E2eResult } from './e2e.js';
import { describeMachine, type MachineInfo } from './machine.js';
import type { MemoryJob, MemoryReading, MemoryResult } from './memory.js';
import type { ProfileSummary } from './profile.js';
import type { ScoringJob, ScoringResult } from './scoring.js';

/** The targets of the issue. */
const TARGETS = {
  /** Worker msgs/s over raw-consumer msgs/s. */
  e2eRatio: 0.8,
  /** ns per point, decoding excluded. */
  scoringNs: 1_000,
  /** RSS with 1,000,000 live series (1.5 GB, decimal). */
  rssFor1M: 1.5e9,
} as const;

const USAGE = `npm run bench -- [options]

  --only LIST            sections to run, comma-separated: e2e,scoring,memory (default: all)
  --quick                smoke test: 20k messages, 1 round, no profile; 20k scoring series,
                         1M points; 100k memory series
  End-to-end (needs Kafka and Redis: KAFKA_BROKERS / REDIS_URL, else scripts/services.sh up):
  --messages N           messages produced once and read by every round (default 200000)
  --series N             distinct series in those messages (default 1000)
  --rounds N             raw/worker pairs, order alternating (default 3)
  --bad-ratio R          share of malformed messages, dead-lettered by the worker (default 0.0001)
  --compression C        none|gzip|snappy|lz4|zstd (default none)
  --no-profile           skip the extra raw and worker rounds under --cpu-prof (their
                         summary says where the worker's time goes)
  --keep-topics          keep the benchmark topics and consumer groups afterwards
  Scoring:
  --scoring-series N     distinct series (default 100000)
  --scoring-points N     points timed per decoded-sample variant (default 10000000)
  --decode-points N      points timed with decoding (default 2000000)
  --scoring-runs N       timed runs per variant, the median is reported (default 5)
  Memory:
  --memory-series N      live series (default 1000000); a second run feeds twice as many
                         into a table of that size
`;

interface Options {
  sections: Set<string>;
  e2e: Omit<E2eOptions, 'brokers' | 'redisUrl'>;
  scoring: ScoringJob;
  memorySeries: number;
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
  const sections = new Set((values.only ?? 'e2e,scoring,memory').split(',').map((s) => s.trim()));
  for (const s of sections) {
    if (!['e2e', 'scoring', 'memory'].includes(s)) throw new Error(`--only: unknown section ${s}`);
  }
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

interface Results {
  readonly machine: MachineInfo;
  readonly command: string;
  readonly options: Options['e2e'] & { scoring: ScoringJob; memorySeries: number };
  e2e?: E2eResult;
  scoring?: ScoringResult;
  memory?: MemorySection;
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
    `  runtime   Node ${m.node} (V8 ${m.v8}), kafkajs ${m.kafkajs}, ioredis ${m.ioredis}`,
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
      `   both consumers: maxBytesPerPartition ${fmt(c.maxBytesPerPartition)}, sessionTimeout ${fmt(c.sessionTimeoutMs)} ms, heartbeat ${fmt(c.heartbeatIntervalMs)} ms, partitionsConsumedConcurrently 1, eachBatch, kafkajs fetch defaults; commit after every batch (raw: kafkajs autoCommit, worker: its own commitOffsets)`,
    );
  }
  const rows: string[][] = [];
  e.rounds.forEach((r, i) => {
    for (const mode of ['raw', 'worker'] as const) {
      const x = r[mode];
      rows.push([
        `round ${i + 1} ${mode}${r.order[0] === mode ? ' (1st)' : ' (2nd)'}`,
        fmt(x.steadyRate),
        fmt(x.totalRate),
        fmt(x.startupMs),
        fmt(x.totalMs),
        fmt(x.committedMs),
        fmt(x.cpuUsPerMessage, 2),
        fmt(x.batches),
        mode === 'worker' && x.worker
          ? `${fmt(x.worker.actionsInStream)} actions, ${fmt(x.worker.deadLetters)} DLQ`
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
        'effects',
      ],
      rows,
    ),
  );
  const m = e.median;
  console.log('');
  console.log(
    table(
      ['median', 'raw kafkajs', 'healcast worker', 'worker/raw', 'target', 'verdict'],
      [
        [
          'msg/s steady (first batch → N)',
          fmt(m.rawSteadyRate),
          fmt(m.workerSteadyRate),
          fmt(m.steadyRatio, 2),
          `≥ ${TARGETS.e2eRatio}`,
          verdict(m.steadyRatio, TARGETS.e2eRatio, false),
        ],
        [
          'msg/s from start (incl. join)',
          fmt(m.rawTotalRate),
          fmt(m.workerTotalRate),
          fmt(m.totalRatio, 2),
          `≥ ${TARGETS.e2eRatio}`,
          verdict(m.totalRatio, TARGETS.e2eRatio, false),
        ],
        [
          'CPU µs per message (process)',
          fmt(m.rawCpuUsPerMessage, 2),
          fmt(m.workerCpuUsPerMessage, 2),
          fmt(m.rawCpuUsPerMessage / m.workerCpuUsPerMessage, 2),
          '',
          '',
        ],
      ],
    ),
  );
  console.log(
    `  paired ratio (median of per-round worker/raw, steady): ${fmt(m.pairedSteadyRatio, 2)}; worker time inside Worker.handle: ${fmt(m.workerHandlerShare * 100, 0)}% of its run`,
  );
  if (e.profiles) {
    console.log(
      `  CPU profiles (open in Chrome DevTools): ${e.runDir.replace(`${ROOT}/`, '')}/profile-{raw,worker}/`,
    );
    for (const [mode, p] of Object.entries(e.profiles) as [string, ProfileSummary][]) {
      console.log(
        `  CPU profile of a ${mode} round, start → N handled (busy ${fmt(p.busyMs)} ms, idle ${fmt(p.idleMs)} ms), self time by area:`,
      );
      console.log(
        p.areas
          .slice(0, 10)
          .map(
            (a) =>
              `    ${a.name.padEnd(30)} ${fmt(a.ms).padStart(7)} ms ${fmt(a.share * 100, 1).padStart(5)}%`,
          )
          .join('\n'),
      );
      {
        console.log('    hottest functions:');
        console.log(
          p.functions
            .slice(0, mode === 'worker' ? 15 : 6)
            .map((f) => `      ${fmt(f.share * 100, 1).padStart(5)}%  ${f.name}`)
            .join('\n'),
        );
      }
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

function printSummary(r: Results): void {
  const rows: string[][] = [];
  if (r.e2e) {
    rows.push([
      'end-to-end worker/raw msg/s (steady, median)',
      fmt(r.e2e.median.steadyRatio, 2),
      `≥ ${TARGETS.e2eRatio}`,
      verdict(r.e2e.median.steadyRatio, TARGETS.e2eRatio, false),
    ]);
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
    options: { ...options.e2e, scoring: options.scoring, memorySeries: options.memorySeries },
  };

  if (services && options.sections.has('e2e')) {
    process.stderr.write('[1/3] end-to-end throughput\n');
    results.e2e = await runE2e({ ...options.e2e, ...services });
    printE2e(results.e2e);
  }
  if (options.sections.has('scoring')) {
    process.stderr.write('[2/3] core scoring cost\n');
    results.scoring = await runChild<ScoringResult>('scoring.ts', options.scoring, ['--expose-gc']);
    printScoring(results.scoring);
  }
  if (options.sections.has('memory')) {
    process.stderr.write('[3/3] memory per live series\n');
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
