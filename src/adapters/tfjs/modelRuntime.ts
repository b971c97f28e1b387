import { currentModel } from '../fsModelRegistry.js';
import type { ForecastEngine } from '../../forecast/engine.js';
import { loadForecaster } from './quantileModel.js';

/** Which model the forecasting stage runs, if any, and why not. */
export interface ModelStatus {
  readonly version: string | null;
  readonly backend: string | null;
  /** Why no (new) model is running: unreadable files, no current model, … */
  readonly error: string | null;
}

/**
 * Loads the current model (models/current.json) into a forecasting engine and swaps in newer
 * ones without a restart: the new model is loaded and warmed up first, then swapped, then the
 * old one freed. A model that cannot be loaded leaves the engine as it was (the previous
 * model, or none: baseline-only, reactive triggers only) and says why in the status.
 */
export class ModelRuntime {
  private state: ModelStatus = { version: null, backend: null, error: 'not loaded yet' };
  private loading: Promise<ModelStatus> | undefined;

  constructor(
    private readonly engine: ForecastEngine,
    private readonly modelsRoot: string,
  ) {}

  get status(): ModelStatus {
    return this.state;
  }

  /** Loads the current model if it is not the one running; concurrent calls share one load. */
  reload(): Promise<ModelStatus> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<ModelStatus> {
    let current;
    try {
      current = await currentModel(this.modelsRoot);
    } catch (error) {
      return this.keep(`cannot read ${this.modelsRoot}/current.json: ${String(error)}`);
    }
    if (current === undefined) return this.keep(`no current model in ${this.modelsRoot}`);
    if (current.version === this.state.version) return this.state;
    try {
      const forecaster = await loadForecaster(current.dir);
      forecaster.warmUp();
      const previous = this.engine.model;
      this.engine.setForecaster(forecaster);
      previous?.dispose();
      this.state = {
        version: forecaster.info.version,
        backend: forecaster.info.backend,
        error: null,
      };
    } catch (error) {
      return this.keep(
        `cannot load model ${current.version}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return this.state;
  }

  private keep(error: string): ModelStatus {
    this.state = { ...this.state, error };
    return this.state;
  }
}
