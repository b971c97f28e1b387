import path from 'node:path';
import { loadTraceFiles, writeTextFiles } from '../adapters/fsTraining.js';
import type { TfjsBackendName } from '../adapters/tfjs/backend.js';
import { parseDurationMs } from '../config/duration.js';
import { HealcastError } from '../errors.js';
import {
  denormalize,
  inputLength,
  outputLength,
  windowScale,
  writeInputs,
} from '../forecast/features.js';
import type { Forecaster } from '../forecast/forecaster.js';
import {
  FillPolicySchema,
  parseTimestamp,
  type Series,
  type TraceOptions,
} from '../training/traces.js';
import { loadModelOption } from './modelOption.js';
import type { CommandOutput } from './policyValidate.js';

/** Options of `healcast forecast` as commander hands them over. */
export interface ForecastFlags {
  trace: string;
  model?: string;
  column?: string;
  out?: string;
  fill?: string;
  step?: string;
  start?: string;
  backend?: string;
}

/** Windows per forecastBatch call: one tensor per chunk, bounded memory. */
const CHUNK = 4096;

function configError(message: string): HealcastError {
  return new HealcastError('CONFIG_INVALID', message, { retriable: false });
}

/**
 * The rows of a replay: for every step from the end of the first full window on (per
 * segment), the actual value and the model's quantiles for the next `horizonSteps` steps.
 * One forecastBatch call per chunk of windows.
 */
export function replayForecasts(
  forecaster: Forecaster,
  segments: readonly Series[],
): { ts: number; actual: number; forecast: number[][] }[] {
  const spec = forecaster.info.spec;
  const nIn = inputLength(spec);
  const nOut = outputLength(spec);
  const Q = spec.quantiles.length;
  const W = spec.windowSteps;
  const rows: { ts: number; actual: number; forecast: number[][] }[] = [];
  const inputs = new Float32Array(CHUNK * nIn);
  const values = new Float64Array(nOut);
  for (const s of segments) {
    for (let chunkStart = W - 1; chunkStart < s.values.length; chunkStart += CHUNK) {
      const n = Math.min(CHUNK, s.values.length - chunkStart);
      const scales = [];
      for (let k = 0; k < n; k++) {
        const end = chunkStart + k;
        const first = end - W + 1;
        const valueAt = (i: number): number => s.values[first + i] as number;
        const scale = windowScale(spec, valueAt);
        writeInputs(spec, valueAt, s.startMs + end * s.stepMs, s.stepMs, scale, inputs, k * nIn);
        scales.push(scale);
      }
      const outputs = forecaster.forecastBatch(inputs.subarray(0, n * nIn), n);
      for (let k = 0; k < n; k++) {
        const end = chunkStart + k;
        denormalize(spec, outputs, k * nOut, scales[k] as (typeof scales)[number], values, 0);
        const forecast: number[][] = [];
        for (let h = 0; h < spec.horizonSteps; h++) {
          forecast.push(Array.from(values.subarray(h * Q, (h + 1) * Q), round));
        }
        rows.push({ ts: s.startMs + end * s.stepMs, actual: s.values[end] as number, forecast });
      }
    }
  }
  return rows;
}

/** Six significant digits: plenty for a plot, and a third of the file size. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}

/**
 * `healcast forecast --trace <csv>`: replays one series of a trace through the current (or
 * given) model and writes JSON `{series, stepMs, quantiles, horizonSteps, model, rows}` with
 * rows `{ts, actual, forecast: [[p10, p50, p90] per step]}` — `ts` is the last observed step
 * (epoch ms) and forecast[h] is for `ts + (h + 1)·stepMs`. Used by the notebook that plots
 * actual values against the forecast bands.
 */
export async function forecast(flags: ForecastFlags, output: CommandOutput): Promise<number> {
  const root = path.resolve(flags.model ?? 'models');
  const backend = flags.backend as TfjsBackendName | undefined;
  if (backend !== undefined && !['tensorflow', 'wasm', 'cpu'].includes(backend)) {
    throw configError(`--backend: one of tensorflow, wasm, cpu (got ${backend})`);
  }
  const { forecaster } = await loadModelOption(root, backend);
  try {
    const spec = forecaster.info.spec;
    const options: { -readonly [K in keyof TraceOptions]: TraceOptions[K] } = {
      minRows: spec.windowSteps,
    };
    if (flags.fill !== undefined) {
      const fill = FillPolicySchema.safeParse(flags.fill);
      if (!fill.success) throw configError(`--fill: zero or previous (got ${flags.fill})`);
      options.fill = fill.data;
    }
    if (flags.step !== undefined) {
      const ms = parseDurationMs(flags.step);
      if (ms === undefined || ms <= 0) throw configError(`--step: invalid duration ${flags.step}`);
      options.stepMs = ms;
    }
    if (flags.start !== undefined) {
      const ms = parseTimestamp(flags.start);
      if (ms === undefined) throw configError(`--start: not a timestamp: ${flags.start}`);
      options.startMs = ms;
    }
    if (flags.column !== undefined) options.columns = [flags.column];
    const [trace] = await loadTraceFiles([flags.trace], options);
    const names = [...new Set(trace?.series.map((s) => s.name) ?? [])];
    if (names.length !== 1) {
      throw configError(
        `${flags.trace} holds ${names.length} series (${names.join(', ')}): choose one with --column`,
      );
    }
    const segments = (trace?.series ?? []).filter((s) => s.name === names[0]);
    const stepMs = (segments[0] as Series).stepMs;
    const rows = replayForecasts(forecaster, segments);
    // One row per line: a large replay stays readable and diff-able.
    const json =
      `{"series":${JSON.stringify(names[0])},"model":${JSON.stringify(forecaster.info.version)},` +
      `"stepMs":${stepMs},"quantiles":${JSON.stringify(spec.quantiles)},"horizonSteps":${spec.horizonSteps},"rows":[\n` +
      rows.map((r) => JSON.stringify(r)).join(',\n') +
      '\n]}\n';
    if (flags.out === undefined) output.stdout(json);
    else {
      await writeTextFiles({ [flags.out]: json });
      output.stderr(
        `${rows.length} forecasts of ${names[0]} by model ${forecaster.info.version} written to ${flags.out}\n`,
      );
    }
    return 0;
  } finally {
    forecaster.dispose();
  }
}
