/**
 * Training time: `healcast train` (what `npm run train` runs, compiled) on a fixed subsample of
 * the shared traces, in a fresh process, writing its model and reports to a temporary folder so
 * that models/ and training/ are untouched. The per-epoch times come from the moments the
 * command prints its (non-terminal) epoch lines; the phase times from its report.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { median, nowMs, progress, ROOT } from './common.js';

/** Settings of the training benchmark. */
export interface TrainingOptions {
  /** --max-windows: training windows (balanced over series, seeded). */
  readonly maxWindows: number;
  /** --epochs (with the default patience of 5, five epochs always all run). */
  readonly epochs: number;
  /** --backend, or undefined for the command's own choice (tensorflow > wasm > cpu). */
  readonly backend?: 'wasm' | 'cpu';
}

/** What the training benchmark found. */
export interface TrainingResult {
  readonly command: string;
  readonly backend: string;
  readonly trainWindows: number;
  readonly trainWindowsAvailable: number;
  readonly earlyStoppingWindows: number;
  readonly validationWindows: number;
  readonly epochsRun: number;
  readonly batchSize: number;
  readonly hidden: number[];
  /** Phase times from the report (load, baselines, train, evaluate, total), seconds. */
  readonly phases: Record<string, number>;
  /** Seconds of each epoch (training pass + early-stopping loss), from the epoch lines. */
  readonly epochSeconds: number[];
  readonly medianEpochSeconds: number;
  /** Training windows per second of the median epoch. */
  readonly windowsPerSecond: number;
  /** Wall-clock seconds of the whole command, process start to exit. */
  readonly wallSeconds: number;
  /** Seconds from the process start to the start of the first epoch (modules, data, baselines, tfjs). */
  readonly beforeFirstEpochSeconds: number;
  /** Sum of the epochs' seconds. */
  readonly epochsSeconds: number;
  readonly finalLoss: number;
  readonly finalEarlyStoppingLoss: number | null;
  readonly modelMase15m: number | null;
  readonly promotedInTempRegistry: boolean;
}

interface ReportSubset {
  backend: string;
  seconds: Record<string, number>;
  config: { batchSize: number; hidden: number[] };
  data: {
    trainWindows: number;
    trainWindowsAvailable: number;
    earlyStoppingWindows: number;
    validationWindows: number;
  };
  epochs: { epoch: number; loss: number; earlyStoppingLoss: number | null }[];
  evaluation: { model?: { overall: { maseAtMinutes: Record<string, number | null> } } };
  promoted: boolean;
}

/** Runs `node bin/healcast.js train …` once and reads its report. */
export async function runTraining(options: TrainingOptions): Promise<TrainingResult> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'healcast-bench-train-'));
  const args = [
    join(ROOT, 'bin', 'healcast.js'),
    'train',
    '--max-windows',
    String(options.maxWindows),
    '--epochs',
    String(options.epochs),
    '--out',
    join(tmp, 'models'),
    '--reports',
    join(tmp, 'training'),
    ...(options.backend === undefined ? [] : ['--backend', options.backend]),
  ];
  const command = `node bin/healcast.js ${args
    .slice(1)
    .map((a) => a.replace(tmp, '<tmp>'))
    .join(' ')}`;
  progress(command);
  try {
    const started = nowMs();
    const epochAt: number[] = [];
    let trainingStartedAt: number | undefined;
    let stderrTail = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let pending = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        const at = nowMs();
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          stderrTail = `${stderrTail}${line}\n`.slice(-4000);
          if (line.startsWith('TensorFlow.js backend:')) trainingStartedAt = at;
          if (/^epoch \d+\//.test(line)) {
            epochAt.push(at);
            progress(`${line} (${((at - started) / 1000).toFixed(1)} s)`);
          } else if (line.trim() !== '') {
            progress(line);
          }
        }
      });
      child.stdout.resume();
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode));
    });
    const wallSeconds = (nowMs() - started) / 1000;
    if (code !== 0) throw new Error(`training exited with ${code}\n${stderrTail}`);
    const report = JSON.parse(
      readFileSync(join(tmp, 'training', 'latest.json'), 'utf8'),
    ) as ReportSubset;
    // Epoch k ends at its line; the first starts right after the backend line (printed once
    // tfjs is up; building the model takes milliseconds).
    const epochSeconds = epochAt.map(
      (at, i) => (at - (i === 0 ? (trainingStartedAt ?? NaN) : (epochAt[i - 1] as number))) / 1000,
    );
    const medianEpochSeconds = median(epochSeconds);
    const last = report.epochs[report.epochs.length - 1];
    return {
      command,
      backend: report.backend,
      trainWindows: report.data.trainWindows,
      trainWindowsAvailable: report.data.trainWindowsAvailable,
      earlyStoppingWindows: report.data.earlyStoppingWindows,
      validationWindows: report.data.validationWindows,
      epochsRun: report.epochs.length,
      batchSize: report.config.batchSize,
      hidden: report.config.hidden,
      phases: report.seconds,
      epochSeconds,
      medianEpochSeconds,
      windowsPerSecond: report.data.trainWindows / medianEpochSeconds,
      wallSeconds,
      beforeFirstEpochSeconds:
        trainingStartedAt === undefined ? NaN : (trainingStartedAt - started) / 1000,
      epochsSeconds: epochSeconds.reduce((a, b) => a + b, 0),
      finalLoss: last?.loss ?? NaN,
      finalEarlyStoppingLoss: last?.earlyStoppingLoss ?? null,
      modelMase15m: report.evaluation.model?.overall.maseAtMinutes['15m'] ?? null,
      promotedInTempRegistry: report.promoted,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
