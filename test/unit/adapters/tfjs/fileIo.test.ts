import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initTfjs, type Tf } from '../../../../src/adapters/tfjs/backend.js';
import {
  buildQuantileModel,
  loadForecaster,
  saveModel,
  TfjsForecaster,
} from '../../../../src/adapters/tfjs/quantileModel.js';
import { HealcastError } from '../../../../src/errors.js';
import { inputLength } from '../../../../src/forecast/features.js';
import {
  manifestFor,
  seededValues,
  temporaryDirectory,
  TINY_SPEC,
  writeManifest,
} from './helpers.js';

let tf: Tf;
let backend: string;
beforeAll(async () => {
  ({ tf, backend } = await initTfjs());
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function directory(): Promise<string> {
  const { dir, remove } = await temporaryDirectory();
  cleanups.push(remove);
  return dir;
}

/** Saves a seeded tiny model with its manifest into a fresh directory. */
async function savedModel(hidden = [16, 8]): Promise<{ dir: string; expected: Float32Array }> {
  const dir = await directory();
  const model = buildQuantileModel(tf, TINY_SPEC, hidden, 42);
  const original = new TfjsForecaster(tf, model, { version: 'v1', backend, spec: TINY_SPEC });
  const expected = original.forecastBatch(inputs, 64);
  await saveModel(model, dir);
  await writeManifest(dir, manifestFor(TINY_SPEC, 'v1', hidden));
  original.dispose();
  return { dir, expected };
}

const inputs = seededValues(64 * inputLength(TINY_SPEC), 17, 4);

describe('fileSystemIO via saveModel / loadForecaster', () => {
  it('round-trips a model: the loaded one gives the same forecasts', async () => {
    const { dir, expected } = await savedModel();
    const loaded = await loadForecaster(dir);
    expect(loaded.info).toEqual({ version: 'v1', backend, spec: TINY_SPEC });
    const actual = loaded.forecastBatch(inputs, 64);
    expect(actual.length).toBe(expected.length);
    actual.forEach((value, i) =>
      expect(Math.abs(value - (expected[i] as number))).toBeLessThan(1e-6),
    );
    loaded.dispose();
  });

  it('writes the files tfjs-node reads: model.json naming weights.bin, of the right size', async () => {
    const hidden = [16, 8];
    const { dir } = await savedModel(hidden);
    // No temporary files left behind.
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    const modelJson = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    // tfjs-node's NodeFileSystem.save writes exactly these keys, in this order.
    expect(Object.keys(modelJson)).toEqual([
      'modelTopology',
      'weightsManifest',
      'format',
      'generatedBy',
      'convertedBy',
    ]);
    expect(modelJson.format).toBe('layers-model');
    const manifest = modelJson.weightsManifest as {
      paths: string[];
      weights: { name: string; shape: number[]; dtype: string }[];
    }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.paths).toEqual(['weights.bin']);
    expect(manifest[0]!.weights.map((w) => w.name)).toEqual([
      'hidden_0/kernel',
      'hidden_0/bias',
      'hidden_1/kernel',
      'hidden_1/bias',
      'raw_quantiles/kernel',
      'raw_quantiles/bias',
    ]);
    expect(manifest[0]!.weights.every((w) => w.dtype === 'float32')).toBe(true);
    // float32 parameters back to back: 4 bytes each.
    const inputs = inputLength(TINY_SPEC);
    const outputs = TINY_SPEC.horizonSteps * TINY_SPEC.quantiles.length;
    const parameters = (inputs + 1) * 16 + (16 + 1) * 8 + (8 + 1) * outputs;
    expect((await stat(path.join(dir, 'weights.bin'))).size).toBe(4 * parameters);
    const topology = JSON.stringify(modelJson.modelTopology);
    expect(topology).toContain('"class_name":"QuantileOrder"');
  });

  it('loads the way tfjs-node loads file://…/model.json (tf.io.getModelArtifactsForJSON)', async () => {
    const { dir, expected } = await savedModel();
    // What tfjs-node's NodeFileSystem.loadJSONModel does: parse model.json, read each
    // manifest path relative to it, concatenate — independent of our loader.
    const modelJson = JSON.parse(
      await readFile(path.join(dir, 'model.json'), 'utf8'),
    ) as Parameters<Tf['io']['getModelArtifactsForJSON']>[0];
    const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (groups) => {
      const buffers = await Promise.all(
        groups.flatMap((group) => group.paths.map((p) => readFile(path.join(dir, p)))),
      );
      const joined = Buffer.concat(buffers);
      return [
        groups.flatMap((group) => group.weights),
        joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
      ];
    });
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const f = new TfjsForecaster(tf, model, { version: 'v1', backend, spec: TINY_SPEC });
    const actual = f.forecastBatch(inputs, 64);
    actual.forEach((value, i) =>
      expect(Math.abs(value - (expected[i] as number))).toBeLessThan(1e-6),
    );
    f.dispose();
  });

  it('refuses a truncated weights file with a clear error', async () => {
    const { dir } = await savedModel();
    await truncate(path.join(dir, 'weights.bin'), 100);
    await expect(loadForecaster(dir)).rejects.toThrow(/weights.*100 bytes/);
  });

  it('refuses a missing model.json, naming the file', async () => {
    const dir = await directory();
    await writeManifest(dir, manifestFor(TINY_SPEC, 'v1', [4]));
    const error = await loadForecaster(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealcastError);
    expect((error as HealcastError).code).toBe('FILE_UNREADABLE');
    expect((error as HealcastError).retriable).toBe(false);
    expect((error as Error).message).toContain('model.json');
  });

  it('refuses an invalid manifest, naming the bad field', async () => {
    const { dir } = await savedModel();
    const bad = {
      ...manifestFor(TINY_SPEC, 'v1', [16, 8]),
      spec: { ...TINY_SPEC, windowSteps: 2 },
    };
    await writeManifest(dir, bad);
    await expect(loadForecaster(dir)).rejects.toThrow(/manifest.*spec\.windowSteps/);
    await writeFile(path.join(dir, 'manifest.json'), '{ not json');
    await expect(loadForecaster(dir)).rejects.toThrow(/not JSON/);
  });

  it('refuses a model that does not match its manifest, leaking no tensor', async () => {
    const { dir } = await savedModel();
    await writeManifest(dir, manifestFor({ ...TINY_SPEC, horizonSteps: 4 }, 'v1', [16, 8]));
    const before = tf.memory().numTensors;
    await expect(loadForecaster(dir)).rejects.toThrow(/outputs/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
