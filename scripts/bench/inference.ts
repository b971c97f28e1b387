/**
 * Batched inference throughput of the shipped forecasting model on one TensorFlow.js backend,
 * in a fresh process (the parent runs one per backend, with the same job otherwise, so the
 * backends see the same inputs and neither inherits the other's JIT or heap state).
 *
 * Inputs are realistic feature rows: random-walk windows (seeded, so every run and every
 * backend gets the same ones) turned into model inputs by `windowScale` + `writeInputs` from
 * src/forecast/features.ts, exactly as the worker's ForecastEngine builds them. Each timed call
 * is one `TfjsForecaster.forecastBatch` (one input tensor, one predict, outputs copied out),
 * the call the engine makes per batch. Prints one result line.
 */
import { readModelManifest } from '../../src/adapters/fsModelRegistry.js';
import { setBackendForBench, type TfjsBackendName } from '../../src/adapters/tfjs/backend.js';
import { loadForecaster } from '../../src/adapters/tfjs/quantileModel.js';
import {
  inputLength,
  outputLength,
  windowScale,
  writeInputs,
  type WindowScale,
} from '../../src/forecast/features.js';
import { emitResult, median, nowMs, progress, readJob, seededRandom } from './common.js';

/** What the parent asks for. */
export interface InferenceJob {
  readonly backend: Extract<TfjsBackendName, 'wasm' | 'cpu'>;
  /** Model directory (model.json, weights.bin, manifest.json). */
  readonly modelDir: string;
  /** Rows per forecastBatch call, one measurement each. */
  readonly batchSizes: number[];
  /** Timed runs per batch size; the median is reported. */
  readonly runs: number;
  /** Each run makes enough calls to last at least this long (by the warm-up's estimate). */
  readonly minRunMs: number;
  /** Distinct feature rows the calls cycle through (≥ 2 × the largest batch). */
  readonly poolRows: number;
  /** Seed of the random walks. */
  readonly seed: number;
  /** Rows whose outputs are returned, for the cross-backend comparison. */
  readonly sampleRows: number;
}

/** One batch size's figures. */
export interface InferenceSize {
  readonly batch: number;
  readonly callsPerRun: number;
  /** Rows (series forecasts) per second of each run. */
  readonly runsRowsPerSecond: number[];
  readonly medianRowsPerSecond: number;
  readonly medianMsPerCall: number;
}

/** What one backend measured. */
export interface InferenceResult {
  readonly backend: string;
  readonly modelVersion: string;
  readonly windowSteps: number;
  readonly horizonSteps: number;
  readonly quantiles: number[];
  readonly inputLength: number;
  readonly outputLength: number;
  /** Hidden layer widths (from the manifest). */
  readonly hidden: number[];
  /** Weights and biases of the model. */
  readonly parameters: number;
  readonly wasmSimd: boolean | null;
  readonly wasmThreads: boolean | null;
  readonly loadMs: number;
  /** First forecastBatch call (kernel set-up) with the smallest batch size. */
  readonly firstCallMs: number;
  /** windowScale + writeInputs per row, in plain JavaScript (what the engine adds per row). */
  readonly featureNsPerRow: number;
  readonly sizes: InferenceSize[];
  /** forecastBatch calls made in all (warm-ups and checks included). */
  readonly totalCalls: number;
  /** tf.memory() around the whole measurement. */
  readonly tensors: {
    readonly afterLoad: number;
    readonly afterInference: number;
    readonly afterDispose: number;
    readonly bytesAfterLoad: number;
    readonly bytesAfterInference: number;
    readonly bytesAfterDispose: number;
  };
  /** Outputs of the first `sampleRows` rows (normalised units), for the comparison. */
  readonly sampleOutputs: number[];
}

/** Standard normal draws from a seeded uniform source (Box–Muller). */
function gaussian(random: () => number): () => number {
  return () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

/**
 * `rows` random-walk windows of `steps` values: a level between 1 and 1,000 (a percentage, a
 * request rate), a per-step volatility of 0.2–5% of it, a drift in a third of them and a
 * spike in one in twenty, the kinds of windows a metrics worker sees.
 */
function randomWalks(rows: number, steps: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const values = new Float64Array(rows * steps);
  for (let r = 0; r < rows; r++) {
    const level = 10 ** (random() * 3);
    const sigma = level * (0.002 + random() * 0.048);
    const drift = random() < 1 / 3 ? (random() - 0.5) * sigma : 0;
    const spikeAt = random() < 0.05 ? Math.floor(random() * steps) : -1;
    let x = level;
    for (let i = 0; i < steps; i++) {
      x += drift + sigma * normal();
      values[r * steps + i] = i === spikeAt ? x + 8 * sigma : x;
    }
  }
  return values;
}

async function main(): Promise<void> {
  const job = readJob<InferenceJob>();
  const runtime = await setBackendForBench(job.backend);
  const { tf } = runtime;
  const wasmSimd =
    job.backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
  const wasmThreads =
    job.backend === 'wasm'
      ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))
      : null;

  const loadStarted = nowMs();
  const forecaster = await loadForecaster(job.modelDir, job.backend);
  const loadMs = nowMs() - loadStarted;
  if (forecaster.info.backend !== job.backend) {
    throw new Error(`asked for ${job.backend}, the forecaster runs on ${forecaster.info.backend}`);
  }
  const { spec } = forecaster.info;
  const inLength = inputLength(spec);
  const outLength = outputLength(spec);
  const memoryAfterLoad = tf.memory();
  const { architecture } = await readModelManifest(job.modelDir);
  let parameters = 0;
  let width = inLength;
  for (const units of [...architecture.hidden, outLength]) {
    parameters += width * units + units;
    width = units;
  }

  // Feature rows, built as the engine builds them; the time is the JavaScript feature cost.
  const steps = spec.windowSteps;
  const walks = randomWalks(job.poolRows, steps, job.seed);
  const pool = new Float32Array(job.poolRows * inLength);
  const stepMs = 10_000;
  const endTsMs = Date.UTC(2026, 10, 27, 12, 0, 0);
  let featureMs = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const started = nowMs();
    for (let r = 0; r < job.poolRows; r++) {
      const base = r * steps;
      const valueAt = (i: number): number => walks[base + i] as number;
      const norm: WindowScale = windowScale(spec, valueAt);
      writeInputs(spec, valueAt, endTsMs, stepMs, norm, pool, r * inLength);
    }
    featureMs = Math.min(featureMs, nowMs() - started);
  }
  const featureNsPerRow = (featureMs * 1e6) / job.poolRows;

  const smallest = Math.min(...job.batchSizes);
  const firstStarted = nowMs();
  forecaster.forecastBatch(pool, smallest);
  const firstCallMs = nowMs() - firstStarted;

  let offsetRow = 0;
  let totalCalls = 1;
  const call = (batch: number): void => {
    totalCalls++;
    if (offsetRow + batch > job.poolRows) offsetRow = 0;
    const out = forecaster.forecastBatch(pool.subarray(offsetRow * inLength), batch);
    if (out.length !== batch * outLength) throw new Error('unexpected output length');
    offsetRow += batch;
  };

  const sizes: InferenceSize[] = [];
  for (const batch of job.batchSizes) {
    if (2 * batch > job.poolRows) throw new Error(`poolRows must be ≥ 2 × ${batch}`);
    // Warm-up: kernels for this shape, and an estimate of the time per call.
    let warmCalls = 0;
    const warmStarted = nowMs();
    while (warmCalls < 3 || nowMs() - warmStarted < Math.min(300, job.minRunMs / 2)) {
      call(batch);
      warmCalls++;
    }
    const perCallMs = (nowMs() - warmStarted) / warmCalls;
    const callsPerRun = Math.max(3, Math.ceil(job.minRunMs / Math.max(perCallMs, 1e-3)));
    const runsRowsPerSecond: number[] = [];
    const runsMsPerCall: number[] = [];
    for (let run = 0; run < job.runs; run++) {
      const started = nowMs();
      for (let c = 0; c < callsPerRun; c++) call(batch);
      const ms = nowMs() - started;
      runsRowsPerSecond.push((batch * callsPerRun * 1000) / ms);
      runsMsPerCall.push(ms / callsPerRun);
    }
    const size: InferenceSize = {
      batch,
      callsPerRun,
      runsRowsPerSecond,
      medianRowsPerSecond: median(runsRowsPerSecond),
      medianMsPerCall: median(runsMsPerCall),
    };
    sizes.push(size);
    progress(
      `${job.backend} batch ${batch}: ${Math.round(size.medianRowsPerSecond).toLocaleString('en-US')} forecasts/s (${size.medianMsPerCall.toFixed(2)} ms per call, ${job.runs} runs of ${callsPerRun} calls)`,
    );
  }

  const sampleOutputs = Array.from(forecaster.forecastBatch(pool, job.sampleRows));
  totalCalls++;
  const memoryAfterInference = tf.memory();
  forecaster.dispose();
  const memoryAfterDispose = tf.memory();

  emitResult({
    backend: runtime.backend,
    modelVersion: forecaster.info.version,
    windowSteps: spec.windowSteps,
    horizonSteps: spec.horizonSteps,
    quantiles: [...spec.quantiles],
    inputLength: inLength,
    outputLength: outLength,
    hidden: [...architecture.hidden],
    parameters,
    wasmSimd,
    wasmThreads,
    loadMs,
    firstCallMs,
    featureNsPerRow,
    sizes,
    totalCalls,
    tensors: {
      afterLoad: memoryAfterLoad.numTensors,
      afterInference: memoryAfterInference.numTensors,
      afterDispose: memoryAfterDispose.numTensors,
      bytesAfterLoad: memoryAfterLoad.numBytes,
      bytesAfterInference: memoryAfterInference.numBytes,
      bytesAfterDispose: memoryAfterDispose.numBytes,
    },
    sampleOutputs,
  } satisfies InferenceResult);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `inference benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
