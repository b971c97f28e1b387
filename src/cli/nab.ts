import { jsonSampleRecord } from '../ingest/encodeJson.js';
import path from 'node:path';
// cli-progress: the terminal progress bar the train command uses too.
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { currentModel } from '../adapters/fsModelRegistry.js';
import {
  defaultNabLabelsFile,
  listNabDataFiles,
  nabResultsPath,
  readNabDataFile,
  readNabLabels,
  writeJsonFile,
  writeNabResults,
  type NabRow,
} from '../adapters/fsNab.js';
import type { TfjsBackendName } from '../adapters/tfjs/backend.js';
import { loadForecaster } from '../adapters/tfjs/quantileModel.js';
import { BaselineConfigSchema } from '../baseline/ewma.js';
import { buildConfig } from '../config/assemble.js';
import { DetectorConfigSchema, type DetectorConfig } from '../detect/config.js';
import { HealcastError } from '../errors.js';
import {
  NAB_PROFILES,
  nabScoreboard,
  parseNabWindows,
  type NabFileScores,
  type NabOptimum,
  type NabProfileName,
} from '../evaluate/nab/index.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { DEFAULT_DECODE_LIMITS } from '../ingest/limits.js';
import { replayForecastStage } from '../pipeline/forecastStage.js';
import { Processor } from '../pipeline/processor.js';
import type { CommandOutput } from './policyValidate.js';
import { fileLayer } from '../adapters/fsConfigFile.js';

/** Options of `healcast nab` as commander hands them over. */
export interface NabFlags {
  data?: string;
  out?: string;
  labels?: string;
  model?: string;
  /** commander's `--no-forecast`: false when given. */
  forecast?: boolean;
  backend?: string;
  /** YAML or JSON file of detector settings (DetectorConfig fields) instead of the defaults. */
  detector?: string;
}

const NabFlagsSchema = z
  .object({
    data: z
      .string()
      .min(1)
      .default(path.join('..', 'shared', 'data', 'nab')),
    out: z.string({ error: '--out <dir> is required' }).min(1, '--out <dir> is required'),
    labels: z.string().min(1).optional(),
    model: z.string().min(1).default('models'),
    forecast: z.boolean().default(true),
    backend: z.enum(['tensorflow', 'wasm', 'cpu']).optional(),
    detector: z.string().min(1).optional(),
  })
  .strict();

/** Name of the detector in NAB's results layout (`OUT/healcast/...`). */
export const NAB_DETECTOR_NAME = 'healcast';

/** Metric name the rows are sent under; the rich detector is switched on for it only. */
const NAB_METRIC = 'nab_value';

/**
 * The detector settings of a NAB run: the defaults, or the fields of a YAML/JSON file, for the
 * one metric the replay sends. A `metrics` list in the file is replaced: the replay sends one
 * metric, and scoring it with the plain EWMA score would not test the settings at all.
 * Throws a non-retriable `CONFIG_INVALID` error naming the file and every bad field.
 */
export async function nabDetectorConfig(file: string | undefined): Promise<DetectorConfig> {
  const fields = await fileLayer(file);
  const config = buildConfig(
    DetectorConfigSchema,
    `detector settings (--detector ${file ?? ''})`,
    fields,
  );
  return { ...config, metrics: [NAB_METRIC] };
}

/** Rows per processBatch call, like a Kafka batch of one series. */
const BATCH_ROWS = 256;

/**
 * Runs one series through the worker's pure core — records decoded, scored against the EWMA
 * baseline, forecast when a model is given, scored by the rich detector — and returns each
 * row's anomaly score as the processor's `onSampleScored` hook reported it. One pass, in
 * order; nothing looks ahead (the processor cannot). Rows the processor skips (a repeated
 * timestamp) score 0.
 */
export function scoreNabRows(
  rows: readonly NabRow[],
  options: { forecaster?: Forecaster | undefined; detector: DetectorConfig },
): Float64Array {
  const forecast =
    options.forecaster === undefined ? undefined : replayForecastStage(options.forecaster, 1);
  const scores = new Float64Array(rows.length);
  let next = 0;
  const processor = new Processor({
    policies: [],
    baseline: BaselineConfigSchema.parse({}),
    maxSeries: 1,
    format: 'json',
    limits: DEFAULT_DECODE_LIMITS,
    detector: options.detector,
    ...(forecast === undefined ? {} : { forecast }),
    onSampleScored: (sample) => {
      while (next < rows.length && (rows[next] as NabRow).timestampMs < sample.timestampMs) next++;
      if (next < rows.length) scores[next++] = sample.anomalyScore;
    },
  });
  for (let from = 0; from < rows.length; from += BATCH_ROWS) {
    const batch = rows.slice(from, from + BATCH_ROWS);
    const records = batch.map((row, i) =>
      jsonSampleRecord(
        { name: NAB_METRIC, labels: {}, timestampMs: row.timestampMs, value: row.value },
        { topic: 'nab', offset: from + i, timestampMs: row.timestampMs },
      ),
    );
    // "Now" is the newest event of the batch: the replay is live as far as the core can tell.
    processor.processBatch(records, (batch[batch.length - 1] as NabRow).timestampMs);
  }
  return scores;
}

/** What `healcast nab` writes to `OUT/scores.json`. */
export interface NabReport {
  readonly detector: string;
  readonly data: string;
  readonly labels: string;
  readonly files: number;
  readonly rows: number;
  /** The forecasting model whose band the detector used, or null (and why not). */
  readonly model: { readonly version: string | null; readonly note: string | null };
  readonly detectorConfig: DetectorConfig;
  readonly profiles: Record<
    NabProfileName,
    Pick<
      NabOptimum,
      'normalised' | 'threshold' | 'raw' | 'tp' | 'fp' | 'fn' | 'windows' | 'perFile'
    >
  >;
}

function configError(message: string): HealcastError {
  return new HealcastError('CONFIG_INVALID', message, { retriable: false });
}

/** Loads the current model for the detector's forecast term, or says why there is none. */
async function loadModel(
  modelsRoot: string,
  backend: TfjsBackendName | undefined,
): Promise<{ forecaster: Forecaster | undefined; note: string | null }> {
  try {
    const current = await currentModel(modelsRoot);
    if (current === undefined) {
      return { forecaster: undefined, note: `no current model in ${modelsRoot}` };
    }
    const forecaster = await loadForecaster(current.dir, backend);
    forecaster.warmUp();
    return { forecaster, note: null };
  } catch (error) {
    return {
      forecaster: undefined,
      note: `model not loaded: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * `healcast nab --data DIR --out DIR`: runs the worker's streaming detector over every CSV of a
 * NAB-layout folder, writes NAB results files (`OUT/healcast/<category>/healcast_<file>.csv`),
 * scores them with healcast's NAB scorer for the three profiles, prints the normalised scores
 * and thresholds and writes them to `OUT/scores.json`.
 */
export async function nab(flags: NabFlags, output: CommandOutput): Promise<number> {
  const parsed = NabFlagsSchema.safeParse(flags);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    throw configError(
      field === 'out' ? (issue?.message ?? '--out') : `--${field}: ${issue?.message ?? ''}`,
    );
  }
  const options = parsed.data;
  const detector = await nabDetectorConfig(options.detector);
  const dataDir = path.resolve(options.data);
  const outDir = path.resolve(options.out);
  const labelsFile = path.resolve(options.labels ?? (await defaultNabLabelsFile(dataDir)));
  const windows = parseNabWindows(await readNabLabels(labelsFile));
  const files = await listNabDataFiles(dataDir);
  const unlabelled = files.filter((f) => !windows.has(f.name));
  if (unlabelled.length > 0) {
    throw new HealcastError(
      'DATA_INVALID',
      `${labelsFile} has no entry for ${unlabelled.map((f) => f.name).join(', ')}`,
      { retriable: false },
    );
  }
  const contents = [];
  for (const file of files) contents.push({ file, rows: await readNabDataFile(file) });
  const totalRows = contents.reduce((sum, c) => sum + c.rows.length, 0);

  const { forecaster, note } = options.forecast
    ? await loadModel(path.resolve(options.model), options.backend)
    : { forecaster: undefined, note: 'forecast term off (--no-forecast)' };
  if (note !== null) output.stderr(`nab: ${note}; the detector runs without the forecast band\n`);

  const bar = new cliProgress.SingleBar(
    {
      format: 'nab [{bar}] {value}/{total} rows | {file} | {duration}s',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalRows, 0, { file: '' });
  const scored: NabFileScores[] = [];
  let done = 0;
  try {
    for (const { file, rows } of contents) {
      bar.update(done, { file: file.name });
      const scores = scoreNabRows(rows, { forecaster, detector });
      await writeNabResults(nabResultsPath(outDir, NAB_DETECTOR_NAME, file), rows, scores);
      scored.push({
        name: file.name,
        timestampsMs: rows.map((r) => r.timestampMs),
        scores: Array.from(scores),
        windows: windows.get(file.name) ?? [],
      });
      done += rows.length;
      bar.update(done, { file: file.name });
    }
  } finally {
    bar.stop();
    forecaster?.dispose();
  }

  const board = nabScoreboard(scored);
  const profiles = {} as NabReport['profiles'];
  for (const name of Object.keys(NAB_PROFILES) as NabProfileName[]) {
    // Per file too: the totals alone do not say where the points go (false alarms, misses).
    const { normalised, threshold, raw, tp, fp, fn, windows: counted, perFile } = board[name];
    profiles[name] = { normalised, threshold, raw, tp, fp, fn, windows: counted, perFile };
  }
  const report: NabReport = {
    detector: NAB_DETECTOR_NAME,
    data: dataDir,
    labels: labelsFile,
    files: files.length,
    rows: totalRows,
    model: { version: forecaster?.info.version ?? null, note },
    detectorConfig: detector,
    profiles,
  };
  await writeJsonFile(path.join(outDir, 'scores.json'), report);
  output.stdout(
    `NAB scores of ${NAB_DETECTOR_NAME} on ${files.length} files (${totalRows} rows), model ${report.model.version ?? 'none'}\n` +
      `profile              score  threshold   TP   FP   FN\n` +
      (Object.keys(profiles) as NabProfileName[])
        .map((name) => {
          const p = profiles[name];
          return `${name.padEnd(19)} ${p.normalised.toFixed(1).padStart(6)}  ${p.threshold.toFixed(4).padStart(9)} ${String(p.tp).padStart(4)} ${String(p.fp).padStart(4)} ${String(p.fn).padStart(4)}`;
        })
        .join('\n') +
      `\nresults in ${path.join(outDir, NAB_DETECTOR_NAME)}, scores in ${path.join(outDir, 'scores.json')}\n`,
  );
  return 0;
}
