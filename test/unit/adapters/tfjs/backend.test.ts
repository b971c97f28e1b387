import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import {
  initTfjs,
  setBackendForBench,
  type TfjsBackendName,
} from '../../../../src/adapters/tfjs/backend.js';
import {
  buildQuantileModel,
  saveModel,
  TfjsForecaster,
} from '../../../../src/adapters/tfjs/quantileModel.js';
import { inputLength } from '../../../../src/forecast/features.js';
import {
  manifestFor,
  seededValues,
  temporaryDirectory,
  TINY_SPEC,
  writeManifest,
} from './helpers.js';

/** tfjs-node is optional: where it installed, it must win; here it cannot, so wasm must. */
function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}
const expectedBackend: TfjsBackendName = tfjsNodeInstalled() ? 'tensorflow' : 'wasm';

describe('initTfjs', () => {
  it(`runs on the best backend available (${expectedBackend} here) and says why not a better one`, async () => {
    const runtime = await initTfjs();
    expect(runtime.backend).toBe(expectedBackend);
    expect(runtime.tf.getBackend()).toBe(expectedBackend);
    if (expectedBackend === 'wasm') {
      expect(runtime.skipped.tensorflow).toMatch(/not installed/);
    }
    // It computes.
    const sum = runtime.tf.tidy(() => runtime.tf.tensor1d([1, 2, 3]).sum().dataSync()[0]);
    expect(sum).toBe(6);
  });

  it('is idempotent: the same namespace and backend on every call', async () => {
    const a = await initTfjs();
    const b = await initTfjs();
    expect(b.tf).toBe(a.tf);
    expect(b.backend).toBe(a.backend);
  });

  it('lets a benchmark switch between cpu and wasm in one process', async () => {
    const cpu = await setBackendForBench('cpu');
    expect(cpu.tf.getBackend()).toBe('cpu');
    const wasm = await setBackendForBench('wasm');
    expect(wasm.tf.getBackend()).toBe('wasm');
    // Asking for an unavailable backend fails loudly instead of measuring another one.
    if (!tfjsNodeInstalled()) {
      await expect(setBackendForBench('tensorflow')).rejects.toThrow(/not available/);
    }
    await initTfjs();
  });

  it('gives the same forecasts on cpu and wasm (within float rounding)', async () => {
    const { tf } = await setBackendForBench('wasm');
    const model = buildQuantileModel(tf, TINY_SPEC, [16], 5);
    const inputs = seededValues(20 * inputLength(TINY_SPEC), 2);
    const run = (backend: string): Float32Array =>
      new TfjsForecaster(tf, model, { version: 'v', backend, spec: TINY_SPEC }).forecastBatch(
        inputs,
        20,
      );
    const onWasm = run('wasm');
    await setBackendForBench('cpu');
    const onCpu = run('cpu');
    onCpu.forEach((value, i) => expect(value).toBeCloseTo(onWasm[i] as number, 4));
    model.dispose();
    await initTfjs();
  });
});

describe('on a worker thread', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('initialises its own tfjs, loads a saved model and forecasts what the main thread does', async () => {
    const { tf, backend } = await initTfjs();
    const { dir, remove } = await temporaryDirectory();
    cleanups.push(remove);
    const model = buildQuantileModel(tf, TINY_SPEC, [8], 3);
    const inputs = seededValues(4 * inputLength(TINY_SPEC), 8);
    const forecaster = new TfjsForecaster(tf, model, { version: 'v', backend, spec: TINY_SPEC });
    const expected = forecaster.forecastBatch(inputs, 4);
    await saveModel(model, dir);
    await writeManifest(dir, manifestFor(TINY_SPEC, 'v', [8]));
    forecaster.dispose();

    // The thread does not inherit vitest's TypeScript loader: register tsx first, as
    // src/adapters/thread does when run from sources.
    const tsx = import.meta.resolve('tsx/esm/api');
    const module = new URL('../../../../src/adapters/tfjs/quantileModel.ts', import.meta.url).href;
    const code = `
      import { register } from ${JSON.stringify(tsx)};
      import { parentPort, workerData } from 'node:worker_threads';
      register();
      const { loadForecaster } = await import(${JSON.stringify(module)});
      const forecaster = await loadForecaster(workerData.dir);
      const outputs = forecaster.forecastBatch(workerData.inputs, 4);
      parentPort.postMessage({ backend: forecaster.info.backend, outputs });
      forecaster.dispose();
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
      workerData: { dir, inputs },
    });
    const reply = await new Promise<{ backend: string; outputs: Float32Array }>(
      (resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      },
    );
    await worker.terminate();
    expect(reply.backend).toBe(expectedBackend);
    reply.outputs.forEach((value, i) =>
      expect(Math.abs(value - (expected[i] as number))).toBeLessThan(1e-6),
    );
  });
});
