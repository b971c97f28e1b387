import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promote } from '../../../../src/adapters/fsModelRegistry.js';
import { initTfjs, type Tf } from '../../../../src/adapters/tfjs/backend.js';
import { ModelRuntime } from '../../../../src/adapters/tfjs/modelRuntime.js';
import { ForecastEngine } from '../../../../src/forecast/engine.js';
import { inputLength } from '../../../../src/forecast/features.js';
import { saveTinyVersion, seededValues, temporaryDirectory, TINY_SPEC } from './helpers.js';

let tf: Tf;
let root: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  ({ tf } = await initTfjs());
  root = await temporaryDirectory();
});
afterAll(async () => {
  await root.remove();
});

function saveVersion(version: string, seed: number): Promise<string> {
  return saveTinyVersion(tf, root.dir, version, seed);
}

function engine(): ForecastEngine {
  return new ForecastEngine({ capacity: 4, budgetMs: 1000, maxBatch: 16, monotonicMs: () => 0 });
}

describe('ModelRuntime (hot reload)', () => {
  it('runs on baselines only, and says why, while there is no current model', async () => {
    const forecasting = engine();
    const status = await new ModelRuntime(forecasting, root.dir).reload();
    expect(status).toMatchObject({
      version: null,
      error: expect.stringContaining('no current model') as string,
    });
    expect(forecasting.model).toBeUndefined();
  });

  it('loads the current model, swaps in a newly promoted one, and keeps it when a newer one is broken', async () => {
    const forecasting = engine();
    const runtime = new ModelRuntime(forecasting, root.dir);
    await saveVersion('2026-01-01T00-00-00Z', 1);
    await promote(root.dir, '2026-01-01T00-00-00Z');
    expect((await runtime.reload()).version).toBe('2026-01-01T00-00-00Z');
    const first = forecasting.model;
    const inputs = seededValues(inputLength(TINY_SPEC) * 2, 3);
    const before = first?.forecastBatch(inputs, 2);
    const tensorsBefore = tf.memory().numTensors;

    await saveVersion('2026-01-02T00-00-00Z', 2);
    await promote(root.dir, '2026-01-02T00-00-00Z');
    const status = await runtime.reload();
    expect(status).toEqual({
      version: '2026-01-02T00-00-00Z',
      backend: expect.any(String) as string,
      error: null,
    });
    expect(forecasting.model).not.toBe(first);
    expect(forecasting.model?.forecastBatch(inputs, 2)).not.toEqual(before);
    // The old model was disposed: swapping does not leak its weights.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // Reloading the same version is a no-op.
    const same = forecasting.model;
    await runtime.reload();
    expect(forecasting.model).toBe(same);

    // A broken model named current: the runtime keeps the running one and says why.
    const broken = await saveVersion('2026-01-03T00-00-00Z', 3);
    await writeFile(path.join(broken, 'weights.bin'), Buffer.alloc(3));
    await writeFile(
      path.join(root.dir, 'current.json'),
      JSON.stringify({ version: '2026-01-03T00-00-00Z' }),
    );
    const kept = await runtime.reload();
    expect(kept.version).toBe('2026-01-02T00-00-00Z');
    expect(kept.error).toContain('2026-01-03T00-00-00Z');
    expect(forecasting.model).toBe(same);
  });
});
