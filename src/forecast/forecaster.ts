import type { FeatureSpec } from './features.js';

/** What a loaded model says about itself (from its manifest). */
export interface ForecasterInfo {
  /** Model version (directory name under models/). */
  readonly version: string;
  /** TensorFlow.js backend running it: `tensorflow` (tfjs-node), `wasm` or `cpu`. */
  readonly backend: string;
  readonly spec: FeatureSpec;
}

/**
 * Forecaster — turns a batch of feature rows into quantile forecasts (TensorFlow.js in
 * production, a fake in unit tests).
 *
 * Contract:
 * - `forecastBatch` takes `count` rows of `inputLength(spec)` features, row-major, and returns
 *   `count` rows of `outputLength(spec)` normalised outputs (step-major, [h][q], quantiles
 *   ascending at every step). One call is one tensor: callers batch, never call per series.
 * - It is synchronous and keeps no tensors alive between calls (no leaks across calls).
 * - `dispose` frees the model; the forecaster must not be used afterwards.
 */
export interface Forecaster {
  readonly info: ForecasterInfo;
  forecastBatch(inputs: Float32Array, count: number): Float32Array;
  dispose(): void;
}
