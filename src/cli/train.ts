import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
// cli-progress: the de-facto terminal progress bar for Node (maintained, no native code, no
// dependencies beyond string-width); used only when stderr is a terminal.
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { directoryBytes, loadTraceFiles, writeTextFiles } from '../adapters/fsTraining.js';
import {
  MANIFEST_JSON,
  newVersionName,
  promote,
  writeFileAtomic,
} from '../adapters/fsModelRegistry.js';
import { createKafka } from '../adapters/kafka/kafkaClient.js';
import { registerCompressionCodecs } from '../adapters/kafka/compression.js';
import { replayTopic } from '../adapters/kafka/kafkaTopicReplay.js';
import { initTfjs } from '../adapters/tfjs/backend.js';
import {
  buildQuantileModel,
  loadForecaster,
  saveModel,
  trainQuantileModel,
} from '../adapters/tfjs/quantileModel.js';
import { parseDurationMs } from '../config/duration.js';
import { HealcastError } from '../errors.js';
import {
  DEFAULT_FEATURE_SPEC,
  FeatureSpecSchema,
  denormalize,
  inputLength,
  outputLength,
  type FeatureSpec,
} from '../forecast/features.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { ModelManifestSchema, type ModelManifest } from '../forecast/manifest.js';
import { packageRoot } from '../main.js';
import { createLogger } from '../observability/logger.js';
import { baselineForecasts } from '../training/baselines.js';
import { buildDataset, seededRandom, type Dataset, type WindowSet } from '../training/dataset.js';
import {
  evaluateBreaches,
  evaluateMethod,
  medianQuantile,
  promotionDecision,
  upperQuantile,
  type BreachEvaluation,
  type MethodEvaluation,
} from '../training/evaluate.js';
import { SampleCollector } from '../training/kafkaReplay.js';
import {
  renderJson,
  renderMarkdown,
  targetChecks,
  type DataTraceSummary,
  type TrainingReport,
} from '../training/report.js';
import {
  dataFingerprint,
  FillPolicySchema,
  parseTimestamp,
  traceStem,
  type ParsedTrace,
  type Series,
  type TraceOptions,
} from '../training/traces.js';
import type { CommandOutput } from './policyValidate.js';

/** Options of `healcast train` as commander hands them over (strings until validated). */
export interface TrainFlags {
  data?: string[];
  kafkaTopic?: string;
  brokers?: string;
  since?: string;
  metrics?: string;
  out?: string;
  reports?: string;
  epochs?: string;
  batchSize?: string;
  learningRate?: string;
  seed?: string;
  hidden?: string;
  window?: string;
  horizon?: string;
  validation?: string;
  earlyStopping?: string;
  patience?: string;
  stride?: string;
  maxWindows?: string;
  fill?: string;
  maxGap?: string;
  step?: string;
  start?: string;
  excludeTail?: string;
  timeFeatures?: boolean;
  backend?: string;
  force?: boolean;
}

/** The data folder used when neither --data nor --kafka-topic is given. */
export const DEFAULT_DATA_DIR = '../shared/data/traces';

const int = (min: number) => z.coerce.number().int().min(min);
const ratio = z.coerce.number().min(0).lt(1);

/** Validated settings of a training run (defaults are healcast's shipped model's). */
export const TrainConfigSchema = z
  .strictObject({
    data: z.array(z.string()).optional(),
    kafkaTopic: z.string().min(1).optional(),
    brokers: z.string().min(1).optional(),
    since: z.string().default('14d'),
    metrics: z.string().optional(),
    out: z.string().default('models'),
    reports: z.string().default('training'),
    epochs: int(1).default(30),
    batchSize: int(1).default(1024),
    learningRate: z.coerce.number().positive().default(0.003),
    seed: z.coerce.number().int().default(42),
    hidden: z
      .string()
      .default('128,64')
      .transform((text, ctx) => {
        const units = text.split(',').map((s) => Number(s.trim()));
        if (units.length === 0 || units.some((u) => !Number.isInteger(u) || u < 1)) {
          ctx.addIssue({ code: 'custom', message: 'a comma-separated list of positive integers' });
          return z.NEVER;
        }
        return units;
      }),
    window: int(4).default(DEFAULT_FEATURE_SPEC.windowSteps),
    horizon: int(1).default(DEFAULT_FEATURE_SPEC.horizonSteps),
    validation: z.coerce.number().gt(0).lt(1).default(0.2),
    earlyStopping: ratio.default(0.1),
    patience: int(1).default(5),
    stride: int(1).default(1),
    maxWindows: int(1).default(80_000),
    fill: FillPolicySchema.optional(),
    maxGap: int(0).optional(),
    step: z.string().optional(),
    start: z.string().optional(),
    excludeTail: ratio.default(0),
    // Off by default: 9 of the 15 shipped training series (Alibaba, Google) have no time
    // column, so their time of day would be made up; with it on, tuning runs did worse
    // (mean MASE 1.91 vs 1.84 at equal settings). Traces with real timestamps may opt in.
    timeFeatures: z.boolean().default(false),
    backend: z.enum(['tensorflow', 'wasm', 'cpu']).optional(),
    force: z.boolean().default(false),
  })
  .refine((c) => c.kafkaTopic === undefined || c.brokers !== undefined, {
    message: '--kafka-topic needs --brokers (or KAFKA_BROKERS)',
    path: ['brokers'],
  });
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Validates the flags, naming every bad one (exit 2 through CONFIG_INVALID). */
export function parseTrainFlags(flags: TrainFlags, env: NodeJS.ProcessEnv = {}): TrainConfig {
  const input: Record<string, unknown> = { ...flags };
  for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k];
  if (input['brokers'] === undefined && input['kafkaTopic'] !== undefined && env['KAFKA_BROKERS']) {
    input['brokers'] = env['KAFKA_BROKERS'];
  }
  const result = TrainConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${flagName(String(i.path[0] ?? 'flags'))}: ${i.message}`)
      .join('; ');
    throw new HealcastError('CONFIG_INVALID', `invalid train options: ${problems}`, {
      retriable: false,
    });
  }
  return result.data;
}

/** The feature spec a run trains with. */
export function specOf(config: TrainConfig): FeatureSpec {
  return FeatureSpecSchema.parse({
    ...DEFAULT_FEATURE_SPEC,
    windowSteps: config.window,
    horizonSteps: config.horizon,
    timeFeatures: config.timeFeatures,
  });
}

function configError(message: string): HealcastError {
  return new HealcastError('CONFIG_INVALID', message, { retriable: false });
}

/** Trace options from the flags (the per-file rules fill in what is not given). */
export function traceOptionsOf(config: TrainConfig, spec: FeatureSpec): TraceOptions {
  const options: { -readonly [K in keyof TraceOptions]: TraceOptions[K] } = {
    minRows: spec.windowSteps + spec.horizonSteps,
  };
  if (config.fill !== undefined) options.fill = config.fill;
  if (config.maxGap !== undefined) options.maxGapSteps = config.maxGap;
  if (config.step !== undefined) {
    const ms = parseDurationMs(config.step);
    if (ms === undefined || ms <= 0) throw configError(`--step: invalid duration ${config.step}`);
    options.stepMs = ms;
  }
  if (config.start !== undefined) {
    const ms = parseTimestamp(config.start);
    if (ms === undefined) throw configError(`--start: not a timestamp: ${config.start}`);
    options.startMs = ms;
  }
  return options;
}

/** `--data` or the default folder (next to the repository's shared/ checkout). */
export function resolveDataPaths(config: TrainConfig, cwd: string): string[] {
  if (config.data !== undefined && config.data.length > 0) return config.data;
  for (const candidate of [
    path.resolve(cwd, DEFAULT_DATA_DIR),
    path.resolve(packageRoot(), DEFAULT_DATA_DIR),
  ]) {
    if (existsSync(candidate)) return [candidate];
  }
  throw configError(
    `no training data: ${DEFAULT_DATA_DIR} does not exist here; pass --data <files or folders> (CSV or NDJSON traces) or --kafka-topic <topic> --brokers <list>`,
  );
}

/** `--since`: a duration back from now (`14d`) or a timestamp. */
export function sinceMs(text: string, nowMs: number): number {
  const duration = parseDurationMs(text);
  if (duration !== undefined) return nowMs - duration;
  const ts = parseTimestamp(text);
  if (ts === undefined)
    throw configError(`--since: neither a duration (14d) nor a timestamp: ${text}`);
  return ts;
}

async function loadKafkaTraces(
  config: TrainConfig,
  options: TraceOptions,
  progress: (line: string) => void,
): Promise<ParsedTrace[]> {
  const topic = config.kafkaTopic as string;
  await registerCompressionCodecs();
  const kafka = createKafka({
    brokers: (config.brokers as string).split(',').map((b) => b.trim()),
    clientId: 'healcast-train',
    log: createLogger({ level: 'warn', destination: process.stderr }),
    logLevel: 'warn',
  });
  const collector = new SampleCollector(
    config.metrics === undefined ? {} : { metrics: config.metrics.split(',') },
  );
  const from = sinceMs(config.since, Date.now());
  progress(`reading ${topic} since ${new Date(from).toISOString()}`);
  const result = await replayTopic(kafka, {
    topic,
    sinceMs: from,
    onMessage: (value) => collector.add(value, Date.now()),
  });
  if (!result.complete) {
    progress(`warning: stopped waiting for ${topic} before its end (no message for 15 s)`);
  }
  const trace = collector.toTrace(`kafka:${topic}`, options);
  if (trace.series.length === 0) {
    throw new HealcastError(
      'DATA_INVALID',
      `kafka:${topic}: no usable series since ${new Date(from).toISOString()} (${collector.messages} messages, ${collector.seriesCount} series; each needs ${options.minRows} regular steps)`,
      { retriable: false },
    );
  }
  return [trace];
}

/** Drops the last `ratio` of every segment (tuning runs that must not see the validation part). */
function excludeTail(series: Series[], ratio: number, minRows: number): Series[] {
  if (ratio <= 0) return series;
  return series
    .map((s) => ({
      ...s,
      values: s.values.slice(0, s.values.length - Math.floor(s.values.length * ratio)),
    }))
    .filter((s) => s.values.length >= minRows);
}

/** Runs the forecaster over a window set in chunks and returns value-unit quantiles. */
export function forecastWindows(
  forecaster: Forecaster,
  set: WindowSet,
  spec: FeatureSpec,
  chunk = 4096,
): Float64Array {
  const nIn = inputLength(spec);
  const nOut = outputLength(spec);
  const out = new Float64Array(set.count * nOut);
  for (let start = 0; start < set.count; start += chunk) {
    const n = Math.min(chunk, set.count - start);
    const outputs = forecaster.forecastBatch(
      set.inputs.subarray(start * nIn, (start + n) * nIn),
      n,
    );
    for (let k = 0; k < n; k++) {
      const meta = set.meta[start + k];
      if (meta) denormalize(spec, outputs, k * nOut, meta.scale, out, (start + k) * nOut);
    }
  }
  return out;
}

/** healcast's version and, when in a git checkout, its commit. */
export async function codeVersion(): Promise<string> {
  const root = packageRoot();
  let version = 'unknown';
  try {
    version = (
      JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    // Reported as "unknown": the model is still usable, only its provenance is vaguer.
  }
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    if (commit) version += `+${commit}`;
  } catch {
    // Not a git checkout (an npm install): the package version alone identifies the code.
  }
  return version;
}

function dataSummary(series: readonly Series[], dataset: Dataset): DataTraceSummary[] {
  const trainCount = new Map<string, number>();
  const validationCount = new Map<string, number>();
  const count = (map: Map<string, number>, set: WindowSet): void => {
    for (const m of set.meta) {
      const name = (series[m.series] as Series).name;
      map.set(name, (map.get(name) ?? 0) + 1);
    }
  };
  count(trainCount, dataset.train);
  count(validationCount, dataset.validation);
  const bySource = new Map<string, Map<string, Series[]>>();
  for (const s of series) {
    let names = bySource.get(s.source);
    if (!names) bySource.set(s.source, (names = new Map<string, Series[]>()));
    let list = names.get(s.name);
    if (!list) names.set(s.name, (list = []));
    list.push(s);
  }
  return [...bySource].map(([source, names]) => ({
    source,
    series: [...names].map(([name, segments]) => ({
      name,
      segments: segments.length,
      rows: segments.reduce((n, s) => n + s.values.length, 0),
      stepMs: (segments[0] as Series).stepMs,
      filledSteps: segments.reduce((n, s) => n + s.filledSteps, 0),
      trainWindows: trainCount.get(name) ?? 0,
      validationWindows: validationCount.get(name) ?? 0,
    })),
  }));
}

/** Progress of the epochs: a bar on a terminal, one plain line per epoch otherwise. */
function epochProgress(
  total: number,
  output: CommandOutput,
  tty: boolean,
): { update(epoch: number, loss: number, valLoss: number | undefined): void; stop(): void } {
  if (!tty) {
    return {
      update: (epoch, loss, valLoss) =>
        output.stderr(
          `epoch ${epoch}/${total} loss ${loss.toFixed(5)}${valLoss === undefined ? '' : ` early-stopping loss ${valLoss.toFixed(5)}`}\n`,
        ),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format:
        'training [{bar}] epoch {value}/{total} | loss {loss} | early-stopping {val} | {duration}s',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: '–', val: '–' });
  return {
    update: (epoch, loss, valLoss) =>
      bar.update(epoch, {
        loss: loss.toFixed(5),
        val: valLoss === undefined ? '–' : valLoss.toFixed(5),
      }),
    stop: () => bar.stop(),
  };
}

/** Outcome of a training run, for callers and tests. */
export interface TrainOutcome {
  readonly version: string;
  readonly dir: string;
  readonly promoted: boolean;
  readonly manifest: ModelManifest;
  readonly report: TrainingReport;
}

/**
 * `healcast train`: loads the data (files or the metrics topic), builds windows through the
 * shared feature module, fits the baselines, trains the quantile MLP, saves it as a new
 * version, evaluates the saved model (loaded back exactly as the worker loads it) against the
 * baselines on the validation part, writes manifest and report, and promotes it when it beats
 * naive (or with --force).
 */
export async function train(
  flags: TrainFlags,
  output: CommandOutput,
  options: { cwd?: string; tty?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<TrainOutcome> {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const config = parseTrainFlags(flags, options.env ?? process.env);
  const spec = specOf(config);
  const traceOptions = traceOptionsOf(config, spec);
  const say = (line: string): void => output.stderr(`${line}\n`);
  const seconds: Record<string, number> = {};
  const lap = (name: string, since: number): number => {
    const now = performance.now();
    seconds[name] = (now - since) / 1000;
    return now;
  };

  let t = performance.now();
  const traces =
    config.kafkaTopic !== undefined
      ? await loadKafkaTraces(config, traceOptions, say)
      : await loadTraceFiles(
          resolveDataPaths(config, cwd).map((p) => path.resolve(cwd, p)),
          traceOptions,
        );
  const series = excludeTail(
    traces.flatMap((tr) => tr.series),
    config.excludeTail,
    traceOptions.minRows,
  );
  const random = seededRandom(config.seed);
  const dataset = buildDataset(series, {
    spec,
    validationFraction: config.validation,
    stride: config.stride,
    maxTrainWindows: config.maxWindows,
    earlyStoppingFraction: config.earlyStopping,
    maxEarlyStoppingWindows: Math.max(1000, Math.round(config.maxWindows / 4)),
    random,
  });
  if (dataset.train.count === 0 || dataset.validation.count === 0) {
    throw new HealcastError(
      'DATA_INVALID',
      `no ${dataset.train.count === 0 ? 'training' : 'validation'} windows: every series needs more than ` +
        `(window + horizon) / ${config.validation} = ${Math.ceil(traceOptions.minRows / config.validation)} steps`,
      { retriable: false },
    );
  }
  const fingerprint = dataFingerprint(series);
  say(
    `data: ${traces.length} trace(s), ${new Set(series.map((s) => s.name)).size} series, ` +
      `${dataset.train.count} training windows (of ${dataset.trainWindowsAvailable}), ` +
      `${dataset.earlyStopping.count} early-stopping, ${dataset.validation.count} validation`,
  );
  t = lap('load', t);

  const baselines = baselineForecasts(series, dataset.splits, dataset.validation.meta, spec);
  t = lap('baselines', t);

  const runtime = await initTfjs(config.backend);
  say(`TensorFlow.js backend: ${runtime.backend}`);
  const model = buildQuantileModel(runtime.tf, spec, config.hidden, config.seed);
  const epochs: TrainingReport['epochs'] = [];
  const progress = epochProgress(
    config.epochs,
    output,
    options.tty ?? process.stderr.isTTY === true,
  );
  let result;
  try {
    result = await trainQuantileModel(
      runtime.tf,
      model,
      dataset.train,
      dataset.earlyStopping.count > 0 ? dataset.earlyStopping : undefined,
      {
        epochs: config.epochs,
        batchSize: config.batchSize,
        learningRate: config.learningRate,
        seed: config.seed,
        patience: config.patience,
        onEpoch: (epoch, loss, valLoss) => {
          epochs.push({ epoch, loss, earlyStoppingLoss: valLoss ?? null });
          progress.update(epoch, loss, valLoss);
        },
      },
    );
  } finally {
    progress.stop();
  }
  t = lap('train', t);

  const root = path.resolve(cwd, config.out);
  let version = newVersionName(new Date());
  for (let n = 2; existsSync(path.join(root, version)); n++) {
    version = `${newVersionName(new Date())}-${n}`;
  }
  const dir = path.join(root, version);
  await mkdir(dir, { recursive: true });
  await saveModel(model, dir);
  model.dispose();

  const createdAt = new Date().toISOString();
  const manifestBase = {
    schema: 'healcast.model/v1' as const,
    version,
    createdAt,
    codeVersion: await codeVersion(),
    spec,
    architecture: { kind: 'mlp-quantile' as const, hidden: config.hidden },
    training: {
      backend: runtime.backend,
      seed: config.seed,
      epochs: result.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      trainWindows: dataset.train.count,
      validationWindows: dataset.validation.count,
      seconds: Number(result.seconds.toFixed(2)),
      validationFraction: config.validation,
    },
    dataFingerprint: fingerprint,
    data: dataSummary(series, dataset).flatMap((tr) =>
      tr.series.map((s) => ({ name: s.name, rows: s.rows, stepMs: s.stepMs })),
    ),
  };
  // A provisional manifest first: the model is evaluated as the worker would load it, and
  // loading needs one. It never counts as promotable (beatsNaive false, no evaluation).
  await writeManifest(dir, { ...manifestBase, evaluation: {}, breaches: [], beatsNaive: false });
  const forecaster = await loadForecaster(dir, runtime.backend);
  let modelQuantiles: Float64Array;
  try {
    modelQuantiles = forecastWindows(forecaster, dataset.validation, spec);
  } finally {
    forecaster.dispose();
  }
  const count = dataset.validation.count;
  const methods = [
    {
      name: 'model',
      point: medianQuantile(modelQuantiles, count, spec),
      quantiles: modelQuantiles,
    },
    ...baselines.map((b) => ({ name: b.name, point: b.point, quantiles: b.quantiles })),
  ];
  const evaluation: Record<string, MethodEvaluation> = {};
  const breaches: Record<string, BreachEvaluation> = {};
  for (const m of methods) {
    evaluation[m.name] = evaluateMethod(series, dataset.splits, dataset.validation.meta, m, spec);
    breaches[m.name] = evaluateBreaches(
      series,
      dataset.splits,
      dataset.validation.meta,
      upperQuantile(m.quantiles, count, spec),
      spec.horizonSteps,
    );
  }
  const modelEval = evaluation['model'] as MethodEvaluation;
  const naiveEval = evaluation['naive'] as MethodEvaluation;
  const decision = promotionDecision(
    modelEval.overall.maseMean,
    naiveEval.overall.maseMean,
    config.force,
  );
  lap('evaluate', t);

  const manifest = ModelManifestSchema.parse({
    ...manifestBase,
    evaluation: manifestEvaluation(evaluation),
    breaches: Object.entries(breaches).flatMap(([name, b]) =>
      b.overall.map((s) => ({
        threshold: `${name}:${s.level}`,
        precision: s.precision,
        recall: s.recall,
        medianLeadMinutes: s.medianLeadMinutes,
        breaches: s.breaches,
        alarms: s.alarms,
      })),
    ),
    beatsNaive: decision.beatsNaive,
  });
  await writeManifest(dir, manifest);
  if (decision.promote) await promote(root, version);
  lap('total', started);

  const baselineDetails: Record<string, Record<string, string[]>> = {};
  for (const b of baselines) {
    const bySeries: Record<string, string[]> = {};
    b.descriptions.forEach((d, i) => {
      const name = (series[i] as Series).name;
      (bySeries[name] ??= []).push(d);
    });
    baselineDetails[b.name] = bySeries;
  }
  const report: TrainingReport = {
    version,
    createdAt,
    codeVersion: manifest.codeVersion,
    config: {
      data:
        config.kafkaTopic !== undefined
          ? `kafka:${config.kafkaTopic} since ${config.since}`
          : traces.map((tr) => path.relative(cwd, tr.source)),
      ...spec,
      hidden: config.hidden,
      epochs: config.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      seed: config.seed,
      validationFraction: config.validation,
      earlyStoppingFraction: config.earlyStopping,
      patience: config.patience,
      stride: config.stride,
      maxWindows: config.maxWindows,
      excludeTail: config.excludeTail,
      fill: config.fill ?? 'previous (per-file rules apply)',
      maxGapSteps: config.maxGap ?? 'default 3 (per-file rules apply)',
      force: config.force,
    },
    backend: runtime.backend,
    seconds,
    modelBytes: await directoryBytes(dir),
    data: {
      traces: dataSummary(series, dataset),
      notes: traces.flatMap((tr) => tr.notes),
      fingerprint,
      trainWindows: dataset.train.count,
      trainWindowsAvailable: dataset.trainWindowsAvailable,
      earlyStoppingWindows: dataset.earlyStopping.count,
      validationWindows: dataset.validation.count,
    },
    epochs,
    bestEpoch: result.bestEpoch ?? null,
    evaluation,
    breaches,
    baselineDetails,
    targets: targetChecks(evaluation),
    decision,
    promoted: decision.promote,
  };
  const reportsDir = path.resolve(cwd, config.reports);
  const markdown = renderMarkdown(report);
  const json = renderJson(report);
  await writeTextFiles({
    [path.join(reportsDir, 'reports', `${version}.md`)]: markdown,
    [path.join(reportsDir, 'reports', `${version}.json`)]: json,
    [path.join(reportsDir, 'latest.md')]: markdown,
    [path.join(reportsDir, 'latest.json')]: json,
  });

  output.stdout(summaryText(report, dir, path.join(reportsDir, 'reports', `${version}.md`)));
  return { version, dir, promoted: decision.promote, manifest, report };
}

async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const valid = ModelManifestSchema.parse(manifest);
  await writeFileAtomic(path.join(dir, MANIFEST_JSON), `${JSON.stringify(valid, null, 2)}\n`);
}

/** The manifest's evaluation record: overall scores by method, then per trace as `method@trace`. */
function manifestEvaluation(
  evaluation: Readonly<Record<string, MethodEvaluation>>,
): ModelManifest['evaluation'] {
  const round = (x: number): number => (Number.isFinite(x) ? Number(x.toFixed(5)) : x);
  const entry = (s: MethodEvaluation['overall']): ModelManifest['evaluation'][string] => ({
    masePerStep: s.masePerStep.map(round),
    pinball: s.pinball === null ? null : round(s.pinball),
    upperCoverage: s.upperCoverage === null ? null : round(s.upperCoverage),
  });
  const out: ModelManifest['evaluation'] = {};
  for (const [name, e] of Object.entries(evaluation)) out[name] = entry(e.overall);
  for (const [name, e] of Object.entries(evaluation)) {
    for (const [source, s] of Object.entries(e.byTrace))
      out[`${name}@${traceStem(source)}`] = entry(s);
  }
  return out;
}

function summaryText(r: TrainingReport, dir: string, reportFile: string): string {
  const lines: string[] = [];
  const f = (x: number | null | undefined): string =>
    x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3);
  lines.push(`model ${r.version} saved in ${dir} (${(r.modelBytes / 1024).toFixed(1)} KiB)`);
  lines.push(
    `training ${r.seconds['train']?.toFixed(1)} s on ${r.backend}, total ${r.seconds['total']?.toFixed(1)} s`,
  );
  lines.push('method          MASE mean  MASE 15 min  pinball  coverage');
  for (const e of Object.values(r.evaluation)) {
    lines.push(
      `${e.name.padEnd(15)} ${f(e.overall.maseMean).padStart(9)}  ${f(e.overall.maseAtMinutes['15m']).padStart(11)}  ${f(e.overall.pinball).padStart(7)}  ${f(e.overall.upperCoverage).padStart(8)}`,
    );
  }
  const overall = r.targets.find((t) => t.group === 'overall');
  if (overall) {
    lines.push(
      `15-minute target (≤ 0.9 × best baseline): ratio ${f(overall.ratio)} vs ${overall.bestBaseline ?? '–'} → ${overall.met === null ? 'n/a' : overall.met ? 'met' : 'not met'}`,
    );
  }
  lines.push(`${r.promoted ? 'promoted' : 'not promoted'}: ${r.decision.reason}`);
  lines.push(`report: ${reportFile}`);
  return `${lines.join('\n')}\n`;
}
