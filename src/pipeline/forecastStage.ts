import { ForecastConfigSchema, type ForecastConfig } from '../config/workerConfig.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { ForecastEngine } from '../forecast/engine.js';
import { ForecastQualityTracker } from '../predict/forecastQuality.js';
import type { ForecastStage } from './processor.js';

/** Settings of the forecasting stage that can cross a thread boundary (plain data). */
export type ForecastStageSettings = Pick<
  ForecastConfig,
  | 'budget'
  | 'maxBatch'
  | 'series'
  | 'topK'
  | 'forecastOnly'
  | 'qualityHorizonSteps'
  | 'fallbackAfter'
>;

/** Builds the forecasting stage (engine without a model yet, quality tracker). */
export function createForecastStage(
  settings: ForecastStageSettings,
  capacity: number,
  monotonicMs: () => number,
): ForecastStage {
  return {
    engine: new ForecastEngine({
      capacity,
      budgetMs: settings.budget,
      maxBatch: settings.maxBatch,
      monotonicMs,
    }),
    quality: new ForecastQualityTracker({ fallbackAfterMs: settings.fallbackAfter }),
    forecastOnly: settings.forecastOnly,
    inspectSeries: settings.series,
    topK: settings.topK,
    qualityHorizonSteps: settings.qualityHorizonSteps,
  };
}

/**
 * A forecasting stage for replays (`healcast nab`, `healcast backtest`): the default settings,
 * a clock that never moves (a replay has no wall-clock budget to keep: every due series is
 * forecast in its round) and the model already set.
 */
export function replayForecastStage(forecaster: Forecaster, capacity: number): ForecastStage {
  const stage = createForecastStage(ForecastConfigSchema.parse({ topK: 0 }), capacity, () => 0);
  stage.engine.setForecaster(forecaster);
  return stage;
}
