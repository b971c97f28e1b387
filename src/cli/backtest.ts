import path from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import {
  backtestHtml,
  backtestJson,
  loadDemandTrace,
  writeBacktestFiles,
} from '../adapters/fsBacktest.js';
import { fileLayer } from '../adapters/fsConfigFile.js';
import { loadPolicyFile } from '../adapters/fsPolicyLoader.js';
import type { TfjsBackendName } from '../adapters/tfjs/backend.js';
import { buildConfig } from '../config/assemble.js';
import { markdownTable } from '../evaluate/backtest/report.js';
import { runBacktest } from '../evaluate/backtest/run.js';
import {
  DEFAULT_SIMULATION,
  SimulationSettingsSchema,
  TraceKindSchema,
  type SimulationSettings,
  type TraceKind,
} from '../evaluate/backtest/settings.js';
import { HealcastError } from '../errors.js';
import { packageRoot } from '../main.js';
import { loadModelOption } from './modelOption.js';
import type { CommandOutput } from './policyValidate.js';

/** Options of `healcast backtest` as commander hands them over. */
export interface BacktestFlags {
  trace: string;
  policy?: string;
  kind?: string;
  column?: string;
  valueScale?: string;
  settings?: string;
  out?: string;
  model?: string;
  backend?: string;
  progress?: boolean;
}

function configError(message: string): HealcastError {
  return new HealcastError('CONFIG_INVALID', message, { retriable: false });
}

/**
 * The shared traces' families, by file name: what each measures, its default column (the files
 * hold several) and the scale to percent (Google's CPU is a 0–1 fraction; the CPU policy and
 * settings speak percent).
 */
const TRACE_FAMILIES: readonly {
  readonly name: RegExp;
  readonly kind: TraceKind;
  readonly column: string;
  readonly valueScale: number;
}[] = [
  { name: /alibaba/i, kind: 'cpu', column: 'cpu_util_percent', valueScale: 1 },
  { name: /google/i, kind: 'cpu', column: 'avg_cpu', valueScale: 100 },
];

/**
 * The simulated target: the kind's defaults (DEFAULT_SIMULATION, why each value in settings.ts),
 * then the fields of a YAML/JSON `--settings` file — your service's capacity per replica,
 * start-up delay, replica bounds, target utilisation, guardrails. Throws a non-retriable
 * `CONFIG_INVALID` naming the file and every bad field.
 */
async function simulationSettings(
  kind: TraceKind,
  valueScale: number,
  file: string | undefined,
): Promise<SimulationSettings> {
  const fields = await fileLayer(file);
  if (fields['kind'] !== undefined && fields['kind'] !== kind) {
    throw configError(
      `--settings ${file ?? ''}: kind ${JSON.stringify(fields['kind'])} differs from the trace's kind ${kind}; choose it with --kind`,
    );
  }
  // One layer, spread shallowly: a partial `guardrails` in the file replaces the default's.
  return buildConfig(SimulationSettingsSchema, `simulation settings (--settings ${file ?? ''})`, {
    ...DEFAULT_SIMULATION[kind],
    valueScale,
    ...fields,
  });
}

function traceFamily(trace: string): (typeof TRACE_FAMILIES)[number] | undefined {
  const base = path.basename(trace);
  return TRACE_FAMILIES.find((family) => family.name.test(base));
}

/**
 * `healcast backtest --trace FILE [--policy FILE]`: replays a trace against a simulated target
 * for four scalers (healcast predictive, healcast reactive-only, the Kubernetes HPA, a
 * Holt-Winters scaler) and writes report.json, report.md and a self-contained report.html
 * into `--out`. Prints the table and the target check.
 */
export async function backtest(
  flags: BacktestFlags,
  output: CommandOutput,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  const family = traceFamily(flags.trace);
  const column = flags.column ?? family?.column;
  // Requests for request-count traces, CPU for the rest (the shared traces' columns say so).
  const guessedKind = /cpu/i.test(column ?? '') ? 'cpu' : (family?.kind ?? 'requests');
  const kindParsed = TraceKindSchema.safeParse(flags.kind ?? guessedKind);
  if (!kindParsed.success) throw configError(`--kind: requests or cpu (got ${flags.kind})`);
  const kind = kindParsed.data;
  const valueScale =
    flags.valueScale !== undefined ? Number(flags.valueScale) : (family?.valueScale ?? 1);
  if (!(valueScale > 0))
    throw configError(`--value-scale: a positive number (got ${flags.valueScale})`);
  const settings = await simulationSettings(kind, valueScale, flags.settings);
  const policyFile =
    flags.policy ?? path.join(packageRoot(), 'src', 'demo', 'backtest', `${kind}.policy.yaml`);
  const policies = await loadPolicyFile(policyFile);
  const trace = await loadDemandTrace(flags.trace, column, settings);

  const root = path.resolve(flags.model ?? path.join(packageRoot(), 'models'));
  const { forecaster, version } = await loadModelOption(root, flags.backend as TfjsBackendName);
  const useBar = flags.progress !== false;
  const bar = new cliProgress.SingleBar(
    {
      format: 'backtest [{bar}] {percentage}% | {value}/{total} steps | {duration}s',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  if (useBar) bar.start(trace.demand.length, 0);
  const started = performance.now();
  let result;
  try {
    result = runBacktest({
      trace,
      settings,
      policies,
      forecaster,
      onProgress: (done) => {
        if (useBar) bar.update(done);
      },
    });
  } finally {
    if (useBar) bar.stop();
    forecaster.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const command = `healcast ${argv.join(' ')}`;
  const title = `healcast backtest: ${trace.name}`;
  const table = markdownTable(result.summaries);
  const markdown =
    `## ${title}\n\n\`${command}\`\n\n${trace.demand.length} steps of ${trace.stepMs / 1000} s, ` +
    `${kind} settings: ${settings.capacityPerReplica} per replica, start-up ${settings.startupDelay / 1000} s, ` +
    `target ${settings.targetUtilizationPercent} % utilisation; policies ${path.relative(process.cwd(), policyFile)}; ` +
    `model ${version ?? root}; ${seconds.toFixed(1)} s.\n\n${table}\n\n` +
    `Target (healcast predictive vs HPA): ${result.target.verdict}\n`;
  const outDir = path.resolve(flags.out ?? 'backtest-out');
  const written = await writeBacktestFiles(outDir, {
    json: backtestJson(command, trace, settings, result, seconds),
    markdown,
    html: await backtestHtml(title, markdown, trace, settings, result),
  });
  output.stdout(`${markdown}\nwritten: ${written.join(', ')}\n`);
  return 0;
}
