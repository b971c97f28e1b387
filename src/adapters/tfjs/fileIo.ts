import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { HealcastError } from '../../errors.js';
import { MODEL_JSON, WEIGHTS_BIN, writeFileAtomic } from '../fsModelRegistry.js';

/**
 * A TensorFlow.js IOHandler that saves a LayersModel to, and loads it from, a directory — the
 * file:// handler pure tfjs lacks (only tfjs-node has one). The layout is exactly what
 * tfjs-node's `file://` handler writes and reads:
 *
 * - `model.json`: `{ modelTopology, weightsManifest: [{ paths: ["weights.bin"], weights }],
 *   format, generatedBy, convertedBy, trainingConfig?, signature?, userDefinedMetadata? }`
 * - `weights.bin`: every weight's values back to back, in manifest order, little-endian.
 *
 * so a model saved here loads with `tf.loadLayersModel('file://dir/model.json')` under
 * tfjs-node, and one saved by tfjs-node loads here. Each file is replaced atomically
 * (temporary file + rename), weights first: a reader that sees the new model.json also sees
 * its weights. The handler needs no tfjs at run time, only its types.
 */
export function fileSystemIO(dir: string): io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

async function saveArtifacts(dir: string, artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
  const topology = artifacts.modelTopology;
  if (topology === undefined || topology instanceof ArrayBuffer) {
    // A programming error (a GraphModel), not a condition to handle.
    throw new Error('only models with a JSON topology (LayersModel) can be saved to a directory');
  }
  const weights = joinBuffers(artifacts.weightData);
  const modelJson: io.ModelJSON = {
    modelTopology: topology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  // Same keys, same order, same omissions as tfjs-node's NodeFileSystem.save.
  if (artifacts.format !== undefined) modelJson.format = artifacts.format;
  if (artifacts.generatedBy !== undefined) modelJson.generatedBy = artifacts.generatedBy;
  if (artifacts.convertedBy !== undefined) modelJson.convertedBy = artifacts.convertedBy;
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) modelJson.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) {
    modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  }
  const json = JSON.stringify(modelJson);
  await writeFileAtomic(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
  await writeFileAtomic(path.join(dir, MODEL_JSON), json);
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: Buffer.byteLength(JSON.stringify(topology), 'utf8'),
      weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? []), 'utf8'),
      weightDataBytes: weights.byteLength,
    },
  };
}

async function loadArtifacts(dir: string): Promise<io.ModelArtifacts> {
  const jsonFile = path.join(dir, MODEL_JSON);
  let modelJson: io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(jsonFile, 'utf8')) as io.ModelJSON;
  } catch (error) {
    throw unreadable(`cannot read ${jsonFile}`, error);
  }
  if (
    typeof modelJson !== 'object' ||
    modelJson === null ||
    typeof modelJson.modelTopology !== 'object' ||
    !Array.isArray(modelJson.weightsManifest)
  ) {
    throw unreadable(`${jsonFile} has no modelTopology or weightsManifest`, undefined);
  }

  const weightSpecs: io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const relative of group.paths) {
      const file = path.resolve(dir, relative);
      if (path.relative(path.resolve(dir), file).startsWith('..')) {
        throw unreadable(`${jsonFile} points outside its directory: ${relative}`, undefined);
      }
      try {
        buffers.push(await readFile(file));
      } catch (error) {
        throw unreadable(`cannot read the weights file ${file}`, error);
      }
    }
  }
  const weightData = joinBuffers(buffers.map(toArrayBuffer));
  const expected = expectedBytes(weightSpecs);
  // A truncated or foreign weights file would otherwise load as garbage or fail deep in tfjs.
  if (expected !== undefined && expected !== weightData.byteLength) {
    throw unreadable(
      `the weights in ${dir} have ${weightData.byteLength} bytes, model.json describes ${expected}`,
      undefined,
    );
  }

  const artifacts: io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData,
  };
  if (modelJson.format !== undefined) artifacts.format = modelJson.format;
  if (modelJson.generatedBy !== undefined) artifacts.generatedBy = modelJson.generatedBy;
  if (modelJson.convertedBy !== undefined) artifacts.convertedBy = modelJson.convertedBy;
  if (modelJson.trainingConfig !== undefined) artifacts.trainingConfig = modelJson.trainingConfig;
  if (modelJson.signature !== undefined) artifacts.signature = modelJson.signature;
  if (modelJson.userDefinedMetadata !== undefined) {
    artifacts.userDefinedMetadata = modelJson.userDefinedMetadata;
  }
  return artifacts;
}

const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
};

/** Bytes the specs describe, or undefined when a spec is quantised or of an unusual dtype. */
function expectedBytes(specs: readonly io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const size = DTYPE_BYTES[spec.dtype];
    if (size === undefined || spec.quantization !== undefined) return undefined;
    total += spec.shape.reduce((product, dim) => product * dim, 1) * size;
  }
  return total;
}

/** tfjs 4 may hand weights over as several buffers; the file holds them back to back. */
function joinBuffers(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const total = data.reduce((sum, buffer) => sum + buffer.byteLength, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const buffer of data) {
    joined.set(new Uint8Array(buffer), offset);
    offset += buffer.byteLength;
  }
  return joined.buffer;
}

/** A Node Buffer may be a view into a shared pool: copy out exactly its bytes. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function unreadable(message: string, cause: unknown): HealcastError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new HealcastError('FILE_UNREADABLE', `${message}${detail}`, { retriable: false, cause });
}
