import {
  DEFAULT_FEATURE_SPEC,
  outputLength,
  inputLength,
  type FeatureSpec,
} from '../../src/forecast/features.js';
import type { Forecaster } from '../../src/forecast/forecaster.js';

const Z = [-1.2816, 0, 1.2816];

/**
 * A transparent stand-in for the model in unit tests: extrapolates the slope of the last 8
 * normalised inputs, with a band that widens like a random walk (quantiles 0.1/0.5/0.9).
 */
export class TrendForecaster implements Forecaster {
  calls = 0;
  rows = 0;
  readonly info: Forecaster['info'];

  /** Added to every output (in σ units): a deliberately biased model for fallback tests. */
  bias = 0;

  constructor(
    readonly spread = 0.2,
    spec: FeatureSpec = { ...DEFAULT_FEATURE_SPEC, quantiles: [0.1, 0.5, 0.9] },
    version = 'trend-test',
  ) {
    this.info = { version, backend: 'fake', spec };
  }

  forecastBatch(inputs: Float32Array, count: number): Float32Array {
    const spec = this.info.spec;
    const inLength = inputLength(spec);
    const outLength = outputLength(spec);
    const out = new Float32Array(count * outLength);
    const w = spec.windowSteps;
    for (let r = 0; r < count; r++) {
      const base = r * inLength;
      const slope = ((inputs[base + w - 1] as number) - (inputs[base + w - 9] as number)) / 8;
      for (let h = 0; h < spec.horizonSteps; h++) {
        for (let q = 0; q < spec.quantiles.length; q++) {
          out[r * outLength + h * spec.quantiles.length + q] =
            this.bias + slope * (h + 1) + (Z[q] as number) * this.spread * Math.sqrt(h + 1);
        }
      }
    }
    this.calls++;
    this.rows += count;
    return out;
  }

  dispose(): void {}
}
