import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Tf } from '../../../../src/adapters/tfjs/backend.js';
import { buildQuantileModel, saveModel } from '../../../../src/adapters/tfjs/quantileModel.js';
import type { FeatureSpec } from '../../../../src/forecast/features.js';
import type { ModelManifest } from '../../../../src/forecast/manifest.js';

/** A small spec: tiny models train and predict in milliseconds. */
export const TINY_SPEC: FeatureSpec = {
  windowSteps: 8,
  horizonSteps: 3,
  quantiles: [0.1, 0.5, 0.9],
  timeFeatures: true,
  timeFeaturesMaxStepMs: 15 * 60_000,
  clampZ: 20,
};

/** Deterministic uniform values in [-scale, scale) (xorshift32), so failures reproduce. */
export function seededValues(length: number, seed: number, scale = 1): Float32Array {
  const values = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    values[i] = (state / 4294967296) * 2 * scale - scale;
  }
  return values;
}

/** A valid manifest for a model of `spec` named `version`. */
export function manifestFor(spec: FeatureSpec, version: string, hidden: number[]): ModelManifest {
  return {
    schema: 'healcast.model/v1',
    version,
    createdAt: '2026-11-27T03:50:00Z',
    codeVersion: 'test',
    spec,
    architecture: { kind: 'mlp-quantile', hidden },
    training: {
      backend: 'wasm',
      seed: 1,
      epochs: 1,
      batchSize: 32,
      learningRate: 0.001,
      trainWindows: 0,
      validationWindows: 0,
      seconds: 0,
      validationFraction: 0.2,
    },
    dataFingerprint: 'none',
    data: [],
    evaluation: {},
    breaches: [],
    beatsNaive: false,
  };
}

/** Writes `manifest` as manifest.json into `dir`. */
export async function writeManifest(dir: string, manifest: unknown): Promise<void> {
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/** A fresh temporary directory and its clean-up. */
export async function temporaryDirectory(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'healcast-tfjs-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Saves a tiny seeded model as version `version` under `root` (weights, model.json, manifest),
 * ready to promote or load; returns its directory.
 */
export async function saveTinyVersion(
  tf: Tf,
  root: string,
  version: string,
  seed: number,
): Promise<string> {
  const dir = path.join(root, version);
  const model = buildQuantileModel(tf, TINY_SPEC, [4], seed);
  await saveModel(model, dir);
  model.dispose();
  await writeManifest(dir, manifestFor(TINY_SPEC, version, [4]));
  return dir;
}
