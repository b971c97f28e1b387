import { currentModel } from '../adapters/fsModelRegistry.js';
import type { TfjsBackendName } from '../adapters/tfjs/backend.js';
import { loadForecaster } from '../adapters/tfjs/quantileModel.js';
import type { Forecaster } from '../forecast/forecaster.js';

/**
 * Loads the model `--model` names: a registry root (its current.json is followed) or a model
 * directory. `version` is the registry's current version, undefined for a directory.
 */
export async function loadModelOption(
  root: string,
  backend: TfjsBackendName | undefined,
): Promise<{ forecaster: Forecaster; version: string | undefined }> {
  const current = await currentModel(root);
  const forecaster = await loadForecaster(current?.dir ?? root, backend);
  return { forecaster, version: current?.version };
}
