import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTfjs, type Tf } from '../../../../src/adapters/tfjs/backend.js';
import {
  buildQuantileModel,
  pinballLoss,
  TfjsForecaster,
  trainQuantileModel,
  type QuantileTrainingData,
} from '../../../../src/adapters/tfjs/quantileModel.js';
import { inputLength, outputLength, type FeatureSpec } from '../../../../src/forecast/features.js';
import { seededValues, TINY_SPEC } from './helpers.js';

let tf: Tf;
let backend: string;
beforeAll(async () => {
  ({ tf, backend } = await initTfjs());
});

function forecaster(spec: FeatureSpec, seed: number, hidden = [16]): TfjsForecaster {
  return new TfjsForecaster(tf, buildQuantileModel(tf, spec, hidden, seed), {
    version: 'test',
    backend,
    spec,
  });
}

/** Every step's quantiles are non-decreasing in every row. */
function assertOrdered(outputs: Float32Array, spec: FeatureSpec): void {
  const q = spec.quantiles.length;
  for (let row = 0; row < outputs.length; row += q) {
    for (let j = 1; j < q; j++) {
      expect(outputs[row + j]).toBeGreaterThanOrEqual(outputs[row + j - 1] as number);
    }
  }
}

describe('buildQuantileModel + TfjsForecaster', () => {
  it('maps count rows of inputLength features to count rows of H×Q finite outputs', () => {
    const f = forecaster(TINY_SPEC, 1);
    const count = 37;
    const out = f.forecastBatch(seededValues(count * inputLength(TINY_SPEC), 7, 3), count);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(count * outputLength(TINY_SPEC));
    expect(out.every(Number.isFinite)).toBe(true);
    // Untrained, the outputs are O(1) in normalised units: nothing blows up.
    expect(Math.max(...out.map(Math.abs))).toBeLessThan(50);
    f.dispose();
  });

  it('orders the quantiles at every step for random and extreme inputs', () => {
    const cases: [FeatureSpec, number][] = [
      [TINY_SPEC, 1],
      [{ ...TINY_SPEC, quantiles: [0.05, 0.25, 0.5, 0.75, 0.95] }, 2],
      // No quantile at the median: the anchor is the nearest one (0.4).
      [{ ...TINY_SPEC, quantiles: [0.1, 0.4, 0.7, 0.8, 0.99] }, 3],
      [{ ...TINY_SPEC, quantiles: [0.9] }, 4],
    ];
    for (const [spec, seed] of cases) {
      const f = forecaster(spec, seed, [32, 16]);
      const count = 500;
      const width = inputLength(spec);
      for (const scale of [1, 20, 1e4]) {
        const out = f.forecastBatch(seededValues(count * width, seed * 31 + scale, scale), count);
        assertOrdered(out, spec);
      }
      f.dispose();
    }
  });

  it('keeps the meaning of saved models: anchor at the quantile nearest 0.5, softplus gaps', () => {
    // The reference formula in plain JS, from the raw Dense outputs: a change to the layer's
    // arithmetic would silently change what every saved model forecasts.
    const spec: FeatureSpec = { ...TINY_SPEC, quantiles: [0.05, 0.2, 0.45, 0.7, 0.9] };
    const model = buildQuantileModel(tf, spec, [16], 8);
    const raw = tf.model({ inputs: model.inputs, outputs: model.getLayer('raw_quantiles').output });
    const count = 20;
    const x = tf.tensor2d(seededValues(count * inputLength(spec), 4, 5), [
      count,
      inputLength(spec),
    ]);
    const rawValues = tf.tidy(() => (raw.predict(x) as Tensor).dataSync());
    const ordered = tf.tidy(() => (model.predict(x) as Tensor).dataSync());
    const softplus = (v: number): number => Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0);
    const q = spec.quantiles.length;
    const m = 2; // 0.45 is nearest 0.5
    for (let row = 0; row < rawValues.length; row += q) {
      const expected = new Array<number>(q);
      expected[m] = rawValues[row + m]!;
      for (let j = m + 1; j < q; j++)
        expected[j] = expected[j - 1]! + softplus(rawValues[row + j]!);
      for (let j = m - 1; j >= 0; j--)
        expected[j] = expected[j + 1]! - softplus(rawValues[row + j]!);
      expected.forEach((value, j) => expect(ordered[row + j]).toBeCloseTo(value, 5));
      expect(ordered[row + m]).toBe(rawValues[row + m]);
    }
    x.dispose();
    model.dispose();
  });

  it('is deterministic given the seed, and different seeds give different models', () => {
    const inputs = seededValues(10 * inputLength(TINY_SPEC), 5);
    const [a, b, c] = [1, 1, 2].map((seed) => forecaster(TINY_SPEC, seed));
    const outA = a!.forecastBatch(inputs, 10);
    expect(b!.forecastBatch(inputs, 10)).toEqual(outA);
    expect(c!.forecastBatch(inputs, 10)).not.toEqual(outA);
    for (const f of [a, b, c]) f!.dispose();
  });

  it('gives each row the forecast it gets alone (rows do not interact in a batch)', () => {
    const f = forecaster(TINY_SPEC, 9);
    const width = inputLength(TINY_SPEC);
    const inputs = seededValues(6 * width, 11);
    const all = f.forecastBatch(inputs, 6);
    const fourth = f.forecastBatch(inputs.slice(3 * width, 4 * width), 1);
    const n = outputLength(TINY_SPEC);
    const expected = all.slice(3 * n, 4 * n);
    fourth.forEach((value, i) => expect(value).toBeCloseTo(expected[i] as number, 5));
    f.dispose();
  });

  it('keeps no tensor alive across 50 forecastBatch calls (and warmUp)', () => {
    const f = forecaster(TINY_SPEC, 1);
    const inputs = seededValues(256 * inputLength(TINY_SPEC), 3);
    f.warmUp();
    f.forecastBatch(inputs, 256);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) f.forecastBatch(inputs, 1 + ((i * 37) % 256));
    f.warmUp();
    expect(tf.memory().numTensors).toBe(before);
    f.dispose();
  });

  it('disposing frees the weights, and a disposed forecaster refuses to run', () => {
    const before = tf.memory().numTensors;
    const f = forecaster(TINY_SPEC, 1);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    f.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => f.forecastBatch(new Float32Array(inputLength(TINY_SPEC)), 1)).toThrow(/disposed/);
  });

  it('answers an empty batch with no outputs and refuses too few inputs', () => {
    const f = forecaster(TINY_SPEC, 1);
    expect(f.forecastBatch(new Float32Array(0), 0)).toHaveLength(0);
    expect(() => f.forecastBatch(new Float32Array(inputLength(TINY_SPEC)), 2)).toThrow(RangeError);
    f.dispose();
  });

  it('refuses a model whose shape does not match the spec it is served with', () => {
    const model = buildQuantileModel(tf, TINY_SPEC, [4], 1);
    const other = { ...TINY_SPEC, windowSteps: 16 };
    expect(() => new TfjsForecaster(tf, model, { version: 'v', backend, spec: other })).toThrow(
      /inputs/,
    );
    const quantiles = { ...TINY_SPEC, quantiles: [0.2, 0.5, 0.8] };
    expect(() => new TfjsForecaster(tf, model, { version: 'v', backend, spec: quantiles })).toThrow(
      /quantiles/,
    );
    model.dispose();
  });
});

describe('pinballLoss', () => {
  it('matches a hand-computed case: mean over rows, steps and quantiles', () => {
    const loss = pinballLoss(tf, { horizonSteps: 2, quantiles: [0.1, 0.5, 0.9] });
    const targets = tf.tensor2d([
      [1, 0],
      [0, -2],
    ]);
    const predictions = tf.tensor2d([
      [0, 1, 2, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
    // Row 1, step 1 (target 1): q=.1 under by 1 → .1; q=.5 exact → 0; q=.9 over by 1 → .1.
    // Row 2, step 2 (target −2): every quantile over by 2 → .9·2 + .5·2 + .1·2 = 3.
    // Sum 3.2 over 2 rows × 2 steps × 3 quantiles.
    const value = loss(targets, predictions);
    expect(value.dataSync()[0]).toBeCloseTo(3.2 / 12, 6);
    for (const t of [targets, predictions, value]) t.dispose();
  });

  it('is minimised by the true quantile of the targets', () => {
    // Targets 0..99 at one step: the 0.9-quantile 89.1 beats 80 and 99 as a prediction.
    const loss = pinballLoss(tf, { horizonSteps: 1, quantiles: [0.9] });
    const targets = tf.tensor2d(
      Array.from({ length: 100 }, (_, i) => i),
      [100, 1],
    );
    const at = (prediction: number): number =>
      tf.tidy(() => loss(targets, tf.fill([100, 1], prediction)).dataSync()[0] as number);
    expect(at(89.1)).toBeLessThan(at(80));
    expect(at(89.1)).toBeLessThan(at(99));
    targets.dispose();
  });
});

describe('trainQuantileModel', () => {
  const spec: FeatureSpec = { ...TINY_SPEC, timeFeatures: false };
  const width = inputLength(spec);

  /** A learnable signal: the future continues the window's recent slope, plus noise. */
  function dataset(count: number, seed: number): QuantileTrainingData {
    const inputs = seededValues(count * width, seed);
    const noise = seededValues(count * spec.horizonSteps, seed + 1, 0.1);
    const targets = new Float32Array(count * spec.horizonSteps);
    for (let row = 0; row < count; row++) {
      const last = inputs[row * width + width - 1] as number;
      const before = inputs[row * width + width - 2] as number;
      for (let h = 0; h < spec.horizonSteps; h++) {
        targets[row * spec.horizonSteps + h] =
          (h + 1) * (last - before) + (noise[row * spec.horizonSteps + h] as number);
      }
    }
    return { inputs, targets, count };
  }

  function validationLoss(forecast: TfjsForecaster, data: QuantileTrainingData): number {
    return tf.tidy(() => {
      const outputs = forecast.forecastBatch(data.inputs, data.count);
      const predictions = tf.tensor2d(outputs, [data.count, outputLength(spec)]);
      const targets = tf.tensor2d(data.targets, [data.count, spec.horizonSteps]);
      return pinballLoss(tf, spec)(targets, predictions).dataSync()[0] as number;
    });
  }

  it('reduces the validation loss on a learnable signal, leaking no tensor', async () => {
    const train = dataset(1024, 1);
    const validation = dataset(256, 2);
    const model = buildQuantileModel(tf, spec, [32], 7);
    const forecast = new TfjsForecaster(tf, model, { version: 't', backend, spec });
    const initial = validationLoss(forecast, validation);
    const tensors = tf.memory().numTensors;
    const progress: [number, number, number | undefined][] = [];
    const result = await trainQuantileModel(tf, model, train, validation, {
      epochs: 30,
      batchSize: 64,
      learningRate: 0.01,
      seed: 3,
      patience: 5,
      onEpoch: (epoch, loss, valLoss) => progress.push([epoch, loss, valLoss]),
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(result.epochs).toBe(progress.length);
    expect(progress.map(([epoch]) => epoch)).toEqual(progress.map((_, i) => i + 1));
    expect(result.bestValLoss).toBeLessThan(initial * 0.5);
    // The model keeps the weights of its best validation epoch.
    expect(validationLoss(forecast, validation)).toBeCloseTo(result.bestValLoss!, 5);
    expect(result.bestValLoss).toBe(Math.min(...progress.map(([, , v]) => v!)));
    expect(result.seconds).toBeGreaterThan(0);
    assertOrdered(forecast.forecastBatch(validation.inputs, validation.count), spec);
    forecast.dispose();
  });

  it('stops early once the validation loss has not improved for `patience` epochs', async () => {
    const model = buildQuantileModel(tf, spec, [8], 1);
    // Targets unrelated to the inputs: nothing to learn, the validation loss soon stalls.
    const noise = (seed: number): QuantileTrainingData => ({
      inputs: seededValues(256 * width, seed),
      targets: seededValues(256 * spec.horizonSteps, seed + 100),
      count: 256,
    });
    const result = await trainQuantileModel(tf, model, noise(1), noise(2), {
      epochs: 200,
      batchSize: 32,
      learningRate: 0.05,
      seed: 1,
      patience: 2,
    });
    expect(result.epochs).toBeLessThan(200);
    expect(result.epochs - result.bestEpoch!).toBe(2);
    model.dispose();
  });

  it('reproduces the same run from the same seeds, and runs without validation', async () => {
    const train = dataset(256, 5);
    const run = async (): Promise<Float32Array> => {
      const model = buildQuantileModel(tf, spec, [8], 2);
      const result = await trainQuantileModel(tf, model, train, undefined, {
        epochs: 3,
        batchSize: 50,
        learningRate: 0.01,
        seed: 9,
      });
      expect(result.bestValLoss).toBeUndefined();
      expect(result.epochs).toBe(3);
      const f = new TfjsForecaster(tf, model, { version: 't', backend, spec });
      const out = f.forecastBatch(train.inputs, 16);
      f.dispose();
      return out;
    };
    expect(await run()).toEqual(await run());
  });

  it('refuses data whose length does not match the model', async () => {
    const model = buildQuantileModel(tf, spec, [4], 1);
    await expect(
      trainQuantileModel(
        tf,
        model,
        { inputs: new Float32Array(10), targets: new Float32Array(10), count: 5 },
        undefined,
        { epochs: 1, batchSize: 4, learningRate: 0.01, seed: 1 },
      ),
    ).rejects.toThrow(RangeError);
    model.dispose();
  });
});
