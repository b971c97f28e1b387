import type {
  LayersModel,
  Scalar,
  serialization,
  Shape,
  SymbolicTensor,
  Tensor,
} from '@tensorflow/tfjs';
import { HealcastError } from '../../errors.js';
import {
  inputLength,
  medianQuantileIndex,
  outputLength,
  type FeatureSpec,
} from '../../forecast/features.js';
import type { Forecaster, ForecasterInfo } from '../../forecast/forecaster.js';
import { readModelManifest } from '../fsModelRegistry.js';
import { initTfjs, type Tf, type TfjsBackendName } from './backend.js';
import { fileSystemIO } from './fileIo.js';

/**
 * healcast's forecasting model in TensorFlow.js: a multilayer perceptron from one feature row
 * (`inputLength(spec)` values, see src/forecast/features.ts) to `horizonSteps × quantiles`
 * outputs, step-major ([h][q]), whose quantiles are ordered at every step by construction.
 * Training (pinball loss, Adam, seeded shuffling, early stopping) and serving (the
 * TfjsForecaster adapter of the Forecaster port) both live here; tensors never leave this
 * module except through the functions that take `tf` and a model, which only the training
 * pipeline calls.
 */

/** The class name under which the ordering layer is serialised in model.json. */
export const QUANTILE_ORDER_CLASS = 'QuantileOrder';

/** Most rows one predict call runs at once: bounds the activations' memory, not the call. */
export const MAX_PREDICT_BATCH = 4096;

/** Serialised configuration of the ordering layer (beside tfjs' own layer fields). */
interface QuantileOrderConfig {
  /** Quantile levels, ascending: the model carries them, so training needs no spec. */
  quantiles: number[];
  name?: string;
}

const layerClasses = new WeakMap<
  Tf,
  new (config: QuantileOrderConfig) => InstanceType<Tf['layers']['Layer']>
>();

/**
 * The `QuantileOrder` layer, defined for (and registered with) one tfjs namespace. It turns
 * the raw `H × Q` outputs into quantiles that are ordered at every step whatever the weights
 * and inputs. Per step, the quantile nearest 0.5 (index m, the median head) is its raw value;
 * each quantile above it is the one below plus softplus(its raw value), each quantile below
 * it is the one above minus softplus(its raw value):
 *
 *   out_m = raw_m,   out_j = out_{j−1} + softplus(raw_j) (j > m),
 *   out_j = out_{j+1} − softplus(raw_j) (j < m).
 *
 * Computed without splitting the Q axis (split/concat there is 7× slower on wasm): the gaps,
 * permuted into "gap entering position j" order, get a running sum C along Q, and
 * out_j = (C_j − C_m) + raw_m. The ordering survives float rounding: C is a sequential
 * running sum of non-negative terms, hence non-decreasing, and subtracting or adding one
 * number is monotone under rounding. The permutation and both differences are products with
 * 0/±1 matrices with at most two non-zero terms per output, hence exact. Having no weights
 * and a plain config, the layer serialises; registering it lets `tf.loadLayersModel` rebuild
 * it (tf.layers.Lambda cannot be serialised).
 */
function quantileOrderLayer(
  tf: Tf,
): new (config: QuantileOrderConfig) => InstanceType<Tf['layers']['Layer']> {
  const known = layerClasses.get(tf);
  if (known !== undefined) return known;

  class QuantileOrder extends tf.layers.Layer {
    static readonly className = QUANTILE_ORDER_CLASS;
    readonly quantiles: number[];
    /** [Q, Q] permutation: column j takes the gap between quantiles j − 1 and j. */
    private readonly gapOrder: number[][];
    /** [Q, Q]: column j gives C_j − C_m. */
    private readonly fromAnchor: number[][];
    /** [Q, Q]: every column gives raw_m. */
    private readonly anchorValue: number[][];

    constructor(config: QuantileOrderConfig) {
      super(config);
      this.quantiles = [...config.quantiles];
      const q = this.quantiles.length;
      const m = medianQuantileIndex(this.quantiles);
      // Position j ≥ 1 holds the gap below quantile j: softplus(raw_j) above the anchor,
      // softplus(raw_{j−1}) at or below it. Position 0 gets the unused softplus(raw_m), which
      // cancels in C_j − C_m.
      const source = (j: number): number => (j === 0 ? m : j > m ? j : j - 1);
      const matrix = (entry: (k: number, j: number) => number): number[][] =>
        Array.from({ length: q }, (_, k) => Array.from({ length: q }, (_, j) => entry(k, j)));
      this.gapOrder = matrix((k, j) => (k === source(j) ? 1 : 0));
      this.fromAnchor = matrix((k, j) => (k === j ? 1 : 0) - (k === m ? 1 : 0));
      this.anchorValue = matrix((k) => (k === m ? 1 : 0));
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
      return inputShape;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const raw = Array.isArray(inputs) ? inputs[0] : inputs;
        if (raw === undefined) throw new Error('QuantileOrder expects one input');
        const q = this.quantiles.length;
        // [N, H·Q] step-major is [N·H, Q]: one row per (series, step).
        const rows = tf.reshape(raw, [-1, q]);
        const gaps = tf.matMul(tf.softplus(rows), tf.tensor2d(this.gapOrder));
        const running = tf.cumsum(gaps, 1);
        const ordered = tf.add(
          tf.matMul(running, tf.tensor2d(this.fromAnchor)),
          tf.matMul(rows, tf.tensor2d(this.anchorValue)),
        );
        return tf.reshape(ordered, [-1, raw.shape[1] ?? q]);
      });
    }

    override getConfig(): serialization.ConfigDict {
      return { ...super.getConfig(), quantiles: [...this.quantiles] };
    }
  }

  tf.serialization.registerClass(QuantileOrder);
  layerClasses.set(tf, QuantileOrder);
  return QuantileOrder;
}

/**
 * Builds the quantile MLP: `hidden` Dense ReLU layers, a linear Dense to `outputLength(spec)`
 * raw outputs, and the QuantileOrder layer. Initial weights are glorot-uniform drawn from
 * `seed` (layer i uses seed + i), so the same arguments build the same model. Layer names
 * are fixed, so saved weight names do not depend on how many models the process built.
 */
export function buildQuantileModel(
  tf: Tf,
  spec: FeatureSpec,
  hidden: readonly number[],
  seed: number,
): LayersModel {
  const QuantileOrder = quantileOrderLayer(tf);
  const input = tf.input({ shape: [inputLength(spec)], name: 'features' });
  let x: SymbolicTensor = input;
  hidden.forEach((units, i) => {
    x = tf.layers
      .dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: 'zeros',
        name: `hidden_${i}`,
      })
      .apply(x) as SymbolicTensor;
  });
  const raw = tf.layers
    .dense({
      units: outputLength(spec),
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + hidden.length }),
      biasInitializer: 'zeros',
      name: 'raw_quantiles',
    })
    .apply(x) as SymbolicTensor;
  const ordered = new QuantileOrder({
    quantiles: [...spec.quantiles],
    name: 'quantile_order',
  }).apply(raw) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: ordered, name: 'healcast_mlp_quantile' });
}

/**
 * The pinball (quantile) loss: the mean over rows, steps and quantiles of
 * max(q·e, (q − 1)·e) with e = target_h − prediction_{h,q}. `targets` are [count, H] (one
 * value per step), `predictions` [count, H·Q] step-major. Minimising it makes each output the
 * q-quantile of the target's distribution; at q = 0.5 it is half the absolute error.
 */
export function pinballLoss(
  tf: Tf,
  spec: Pick<FeatureSpec, 'horizonSteps' | 'quantiles'>,
): (targets: Tensor, predictions: Tensor) => Scalar {
  const { horizonSteps, quantiles } = spec;
  return (targets, predictions) =>
    tf.tidy(() => {
      const levels = tf.tensor1d(quantiles);
      const predicted = tf.reshape(predictions, [-1, horizonSteps, quantiles.length]);
      const error = tf.sub(tf.reshape(targets, [-1, horizonSteps, 1]), predicted);
      const loss = tf.maximum(tf.mul(levels, error), tf.mul(tf.sub(levels, 1), error));
      return tf.mean(loss);
    });
}

/** Windows for training or validation: row-major features and per-step targets. */
export interface QuantileTrainingData {
  /** `count` rows of `inputLength(spec)` features. */
  readonly inputs: Float32Array;
  /** `count` rows of `horizonSteps` targets (see writeTargets). */
  readonly targets: Float32Array;
  readonly count: number;
}

/** Settings of {@link trainQuantileModel}. */
export interface QuantileTrainingOptions {
  /** Most passes over the training data. */
  readonly epochs: number;
  /** Rows per gradient step. */
  readonly batchSize: number;
  /** Adam's step size. */
  readonly learningRate: number;
  /** Seed of the shuffling order (the weights' seed is given to buildQuantileModel). */
  readonly seed: number;
  /**
   * Epochs without a better validation loss before stopping early. Default 10; ignored
   * without validation data.
   */
  readonly patience?: number;
  /** Progress after every epoch (numbered from 1); valLoss is undefined without validation. */
  readonly onEpoch?: (epoch: number, loss: number, valLoss: number | undefined) => void;
}

/** What a training run did. */
export interface QuantileTrainingResult {
  /** Epochs run (fewer than asked when stopped early). */
  readonly epochs: number;
  /** Lowest validation loss, whose weights the model now has; undefined without validation. */
  readonly bestValLoss: number | undefined;
  /** The epoch (from 1) of the best validation loss; undefined without validation. */
  readonly bestEpoch: number | undefined;
  /** Mean training loss of the last epoch run. */
  readonly lastLoss: number;
  /** Wall-clock seconds spent. */
  readonly seconds: number;
}

const DEFAULT_PATIENCE = 10;
/** Rows per validation forward pass. */
const EVALUATION_BATCH = 4096;

/**
 * Trains a model built by {@link buildQuantileModel} with Adam on the pinball loss. Batches
 * follow a shuffled order drawn from `options.seed`, so a run is reproducible (on one
 * backend: float rounding differs between backends). With validation data, training stops
 * after `patience` epochs without improvement (or when the loss stops being finite) and the
 * model is left with the weights of its best validation epoch. Every tensor made here is
 * disposed, optimizer state included: tf.memory().numTensors is the same before and after.
 */
export async function trainQuantileModel(
  tf: Tf,
  model: LayersModel,
  data: QuantileTrainingData,
  validation: QuantileTrainingData | undefined,
  options: QuantileTrainingOptions,
): Promise<QuantileTrainingResult> {
  const started = performance.now();
  const shape = modelShape(model);
  const { inputSize, horizonSteps } = shape;
  checkData('training', data, shape);
  if (validation !== undefined) checkData('validation', validation, shape);
  const { epochs, learningRate } = options;
  const batchSize = Math.max(1, Math.floor(options.batchSize));
  const patience = options.patience ?? DEFAULT_PATIENCE;
  const loss = pinballLoss(tf, shape);
  const optimizer = tf.train.adam(learningRate);
  const random = mulberry32(options.seed);
  const order = Uint32Array.from({ length: data.count }, (_, i) => i);
  const xBatch = new Float32Array(batchSize * inputSize);
  const yBatch = new Float32Array(batchSize * horizonSteps);

  let best: { loss: number; epoch: number; weights: Snapshot } | undefined;
  let epochsRun = 0;
  let lastLoss = Number.NaN;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      shuffle(order, random);
      let sum = 0;
      for (let start = 0; start < data.count; start += batchSize) {
        const n = Math.min(batchSize, data.count - start);
        for (let b = 0; b < n; b++) {
          const row = order[start + b] as number;
          xBatch.set(data.inputs.subarray(row * inputSize, (row + 1) * inputSize), b * inputSize);
          yBatch.set(
            data.targets.subarray(row * horizonSteps, (row + 1) * horizonSteps),
            b * horizonSteps,
          );
        }
        const value = tf.tidy(() => {
          // The cpu backend keeps a reference to the array a tensor is made from: safe here,
          // since both tensors are gone before the buffers are refilled.
          const x = tf.tensor2d(xBatch.subarray(0, n * inputSize), [n, inputSize]);
          const y = tf.tensor2d(yBatch.subarray(0, n * horizonSteps), [n, horizonSteps]);
          const cost = optimizer.minimize(
            () => loss(y, model.apply(x, { training: true }) as Tensor),
            true,
          );
          return cost === null ? Number.NaN : (cost.dataSync()[0] as number);
        });
        sum += value * n;
      }
      epochsRun = epoch;
      lastLoss = data.count > 0 ? sum / data.count : Number.NaN;
      const valLoss =
        validation === undefined ? undefined : evaluateLoss(tf, model, validation, shape);
      options.onEpoch?.(epoch, lastLoss, valLoss);
      // The epochs themselves run synchronously; yielding between them lets timers, I/O and
      // signal handlers (a Ctrl-C, a progress display) run during a long training.
      await new Promise((resolve) => setImmediate(resolve));
      if (!Number.isFinite(lastLoss)) break;
      if (valLoss === undefined) continue;
      if (best === undefined || valLoss < best.loss) {
        best = { loss: valLoss, epoch, weights: snapshot(model) };
      } else if (epoch - best.epoch >= patience) {
        break;
      }
    }
    if (best !== undefined && best.epoch !== epochsRun) restore(tf, model, best.weights);
  } finally {
    optimizer.dispose();
  }
  return {
    epochs: epochsRun,
    bestValLoss: best?.loss,
    bestEpoch: best?.epoch,
    lastLoss,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Mean pinball loss of the model on `data`, in forward passes of bounded size. */
function evaluateLoss(
  tf: Tf,
  model: LayersModel,
  data: QuantileTrainingData,
  shape: ModelShape,
): number {
  if (data.count === 0) return Number.NaN;
  const { inputSize, horizonSteps } = shape;
  const loss = pinballLoss(tf, shape);
  let sum = 0;
  for (let start = 0; start < data.count; start += EVALUATION_BATCH) {
    const n = Math.min(EVALUATION_BATCH, data.count - start);
    sum +=
      n *
      tf.tidy(() => {
        const x = tf.tensor2d(data.inputs.subarray(start * inputSize, (start + n) * inputSize), [
          n,
          inputSize,
        ]);
        const y = tf.tensor2d(
          data.targets.subarray(start * horizonSteps, (start + n) * horizonSteps),
          [n, horizonSteps],
        );
        return loss(y, model.predict(x, { batchSize: n }) as Tensor).dataSync()[0] as number;
      });
  }
  return sum / data.count;
}

interface ModelShape {
  readonly inputSize: number;
  readonly horizonSteps: number;
  readonly quantiles: number[];
}

/** Sizes and quantile levels read off a model built by buildQuantileModel. */
function modelShape(model: LayersModel): ModelShape {
  const inputSize = model.inputs[0]?.shape[1];
  const outputSize = model.outputs[0]?.shape[1];
  const order = model.layers.find((layer) => layer.getClassName() === QUANTILE_ORDER_CLASS);
  const quantiles = (order as { quantiles?: number[] } | undefined)?.quantiles;
  if (
    typeof inputSize !== 'number' ||
    typeof outputSize !== 'number' ||
    quantiles === undefined ||
    outputSize % quantiles.length !== 0
  ) {
    throw new Error('not a healcast quantile model (see buildQuantileModel)');
  }
  return { inputSize, horizonSteps: outputSize / quantiles.length, quantiles };
}

function checkData(what: string, data: QuantileTrainingData, shape: ModelShape): void {
  if (
    !Number.isInteger(data.count) ||
    data.count < 0 ||
    data.inputs.length < data.count * shape.inputSize ||
    data.targets.length < data.count * shape.horizonSteps
  ) {
    throw new RangeError(
      `${what} data: ${data.count} rows need ${shape.inputSize} inputs and ${shape.horizonSteps} targets each ` +
        `(got ${data.inputs.length} and ${data.targets.length} values)`,
    );
  }
}

type Snapshot = { shape: number[]; values: Float32Array }[];

/** A copy of the weights outside tfjs (variables are overwritten in place while training). */
function snapshot(model: LayersModel): Snapshot {
  return model.getWeights().map((weight) => ({
    shape: [...weight.shape],
    values: Float32Array.from(weight.dataSync()),
  }));
}

function restore(tf: Tf, model: LayersModel, weights: Snapshot): void {
  const tensors = weights.map((w) => tf.tensor(w.values, w.shape));
  try {
    model.setWeights(tensors);
  } finally {
    // The variables now hold their own references to the data.
    for (const tensor of tensors) tensor.dispose();
  }
}

/** A small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates, in place. */
function shuffle(order: Uint32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
}

/**
 * TfjsForecaster — the Forecaster port on a TensorFlow.js LayersModel. One call is one input
 * tensor and one predict; everything runs inside tf.tidy, so no tensor outlives a call.
 */
export class TfjsForecaster implements Forecaster {
  private model: LayersModel | undefined;
  private readonly inputSize: number;
  private readonly outputSize: number;

  /** Wraps `model`, which this forecaster now owns (and disposes). */
  constructor(
    private readonly tf: Tf,
    model: LayersModel,
    readonly info: ForecasterInfo,
  ) {
    this.model = model;
    this.inputSize = inputLength(info.spec);
    this.outputSize = outputLength(info.spec);
    const shape = modelShape(model);
    if (
      shape.inputSize !== this.inputSize ||
      shape.horizonSteps * shape.quantiles.length !== this.outputSize
    ) {
      throw new HealcastError(
        'FILE_UNREADABLE',
        `model ${info.version} takes ${shape.inputSize} inputs and gives ${shape.horizonSteps * shape.quantiles.length} outputs, ` +
          `its manifest's spec says ${this.inputSize} and ${this.outputSize}`,
        { retriable: false },
      );
    }
    if (shape.quantiles.join() !== info.spec.quantiles.join()) {
      throw new HealcastError(
        'FILE_UNREADABLE',
        `model ${info.version} forecasts quantiles ${shape.quantiles.join(', ')}, its manifest says ${info.spec.quantiles.join(', ')}`,
        { retriable: false },
      );
    }
  }

  /**
   * Forecasts `count` rows at once (see the Forecaster port): one input tensor, one predict
   * call, outputs copied out and every tensor freed before returning.
   */
  forecastBatch(inputs: Float32Array, count: number): Float32Array {
    const model = this.model;
    if (model === undefined) throw new Error(`forecaster ${this.info.version} is disposed`);
    if (!Number.isInteger(count) || count < 0 || inputs.length < count * this.inputSize) {
      throw new RangeError(
        `forecastBatch: ${count} rows need ${count * this.inputSize} inputs, got ${inputs.length}`,
      );
    }
    if (count === 0) return new Float32Array(0);
    const { tf, inputSize } = this;
    const outputs = tf.tidy(() => {
      const x = tf.tensor2d(inputs.subarray(0, count * inputSize), [count, inputSize]);
      // Without batchSize, predict slices the input into batches of 32 (up to 3× slower).
      return model.predict(x, { batchSize: Math.min(count, MAX_PREDICT_BATCH) }) as Tensor;
    });
    // Read outside tidy: tidy walks whatever its callback returns looking for tensors, and
    // walking a typed array of count × H × Q numbers costs 7× the inference itself.
    try {
      return outputs.dataSync() as Float32Array;
    } finally {
      outputs.dispose();
    }
  }

  /**
   * Runs a dummy batch, so the first real round does not pay for kernel set-up (wasm
   * compiles and allocates on first use). Call it before swapping a new model in.
   */
  warmUp(): void {
    const rows = 8;
    this.forecastBatch(new Float32Array(rows * this.inputSize), rows);
  }

  /** Frees the model's weights; later calls to forecastBatch throw. */
  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}

/**
 * Loads the model in `dir` (model.json, weights.bin, manifest.json) for serving: validates
 * the manifest, loads the model on the best available backend (or `preferredBackend`) and
 * checks that its shape matches the manifest's feature spec. Any failure is a non-retriable
 * HealcastError naming the file and the problem; the worker then keeps its current model (or
 * none) and scores on baselines.
 */
export async function loadForecaster(
  dir: string,
  preferredBackend?: TfjsBackendName,
): Promise<TfjsForecaster> {
  const manifest = await readModelManifest(dir);
  const { tf, backend } = await initTfjs(preferredBackend);
  quantileOrderLayer(tf);
  let model: LayersModel;
  try {
    model = await tf.loadLayersModel(fileSystemIO(dir));
  } catch (error) {
    if (error instanceof HealcastError) throw error;
    throw new HealcastError(
      'FILE_UNREADABLE',
      `cannot load the model in ${dir}: ${error instanceof Error ? error.message : String(error)}`,
      { retriable: false, cause: error },
    );
  }
  try {
    return new TfjsForecaster(tf, model, {
      version: manifest.version,
      backend,
      spec: manifest.spec,
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * Saves `model` into `dir` as model.json + weights.bin (tfjs-node's layout); the caller
 * writes manifest.json beside them.
 */
export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  await model.save(fileSystemIO(dir));
}
