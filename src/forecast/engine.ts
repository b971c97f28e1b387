import {
  denormalize,
  inputLength,
  outputLength,
  windowScale,
  writeInputs,
  type FeatureSpec,
} from './features.js';
import type { Forecaster } from './forecaster.js';
import { SeriesHistory } from './history.js';

/** Settings of the forecasting stage. */
export interface ForecastEngineOptions {
  /** Slots (series) the engine may track: the processor's max series. */
  readonly capacity: number;
  /** Wall-clock budget of one forecasting round (ms); series left over wait for the next. */
  readonly budgetMs: number;
  /** Rows per inference call (one tensor each). */
  readonly maxBatch: number;
  /** Monotonic clock for the budget (injected: the core reads no clock itself). */
  readonly monotonicMs: () => number;
}

/** One series' newest forecast, in the metric's unit. */
export interface StoredForecast {
  readonly slot: number;
  /** Event time of the last value the forecast saw. */
  readonly originTsMs: number;
  readonly stepMs: number;
  /** The last value the forecast saw (what the naive forecast predicts). */
  readonly originValue: number;
  /** values[h * Q + q]. */
  readonly values: Float64Array;
  readonly modelVersion: string;
}

/** What one forecasting round did. */
export interface ForecastRoundStats {
  forecasts: number;
  batches: number;
  inferenceMs: number;
  /** Series due but left for the next round because the budget ran out. */
  deferred: number;
}

/**
 * The forecasting stage of the pure core: keeps the recent history of the series it is asked
 * to watch, and in each round forecasts every watched series that received a value since its
 * last forecast — in batches, one tensor per batch, within a time budget (the rest carries
 * over). The model sits behind the Forecaster port and can be swapped at any time; without
 * one the engine only keeps history.
 */
export class ForecastEngine {
  private forecaster: Forecaster | undefined;
  private spec: FeatureSpec | undefined;
  private history: SeriesHistory | undefined;
  /** Slots with a new value since their last forecast, in arrival order. */
  private dirty = new Set<number>();
  private readonly latest = new Map<number, StoredForecast>();

  private window: Float64Array = new Float64Array(0);

  constructor(private readonly options: ForecastEngineOptions) {}

  private scratch(length: number): Float64Array {
    if (this.window.length !== length) this.window = new Float64Array(length);
    return this.window;
  }

  /** The model in use, if any. */
  get model(): Forecaster | undefined {
    return this.forecaster;
  }

  /**
   * Uses `forecaster` from now on (undefined: none). A model with another window length
   * restarts the histories; forecasts of the previous model are dropped.
   */
  setForecaster(forecaster: Forecaster | undefined): void {
    const spec = forecaster?.info.spec;
    if (
      spec !== undefined &&
      (this.spec === undefined || this.spec.windowSteps !== spec.windowSteps)
    ) {
      this.history = new SeriesHistory(this.options.capacity, spec.windowSteps);
      this.dirty.clear();
    }
    this.forecaster = forecaster;
    if (spec !== undefined) this.spec = spec;
    this.latest.clear();
  }

  /** Records a value of a watched series. */
  observe(slot: number, value: number, tsMs: number): void {
    if (this.history === undefined) return;
    this.history.push(slot, value, tsMs);
    this.dirty.add(slot);
  }

  /**
   * Multiplies a series' history up to `throughTsMs` by `factor`, for a series whose unit
   * changed under it then: a per-replica metric after its target's replica count changed. Its
   * next forecast then reads the past load as it would weigh on the replicas there are now,
   * instead of a step the series made only because the denominator moved.
   */
  rescale(slot: number, factor: number, throughTsMs: number): void {
    if (!(factor > 0) || !Number.isFinite(factor)) return;
    this.history?.rescale(slot, factor, throughTsMs);
    // The newest forecast, made from the old unit, until the next round replaces it: read by
    // a scale-in's forecast-ahead peak and the detector's band meanwhile.
    const stored = this.latest.get(slot);
    if (stored !== undefined && stored.originTsMs <= throughTsMs) {
      this.latest.set(slot, {
        ...stored,
        originValue: stored.originValue * factor,
        values: stored.values.map((v) => v * factor),
      });
    }
  }

  /** True when the slot has a value not yet forecast (and a model could forecast it). */
  isDue(slot: number): boolean {
    return (
      this.forecaster !== undefined && this.dirty.has(slot) && this.history?.isFull(slot) === true
    );
  }

  /** Forgets an evicted series. */
  evict(slot: number): void {
    this.history?.reset(slot);
    this.dirty.delete(slot);
    this.latest.delete(slot);
  }

  /** The newest forecast of a slot, if any. */
  forecastOf(slot: number): StoredForecast | undefined {
    return this.latest.get(slot);
  }

  /** The histories of the watched series (for inspection), once a model set their length. */
  get histories(): SeriesHistory | undefined {
    return this.history;
  }

  /**
   * Forecasts the series that changed since their last forecast. Returns the slots
   * forecast in this round (their `forecastOf` is fresh) and the round's figures.
   */
  runRound(): { slots: number[]; stats: ForecastRoundStats } {
    const stats: ForecastRoundStats = { forecasts: 0, batches: 0, inferenceMs: 0, deferred: 0 };
    const forecaster = this.forecaster;
    const history = this.history;
    const spec = this.spec;
    if (forecaster === undefined || history === undefined || spec === undefined) {
      this.dirty.clear();
      return { slots: [], stats };
    }
    const due: number[] = [];
    for (const slot of this.dirty) if (history.isFull(slot)) due.push(slot);
    const started = this.options.monotonicMs();
    const inLength = inputLength(spec);
    const outLength = outputLength(spec);
    const done: number[] = [];
    for (let from = 0; from < due.length; from += this.options.maxBatch) {
      if (from > 0 && this.options.monotonicMs() - started > this.options.budgetMs) break;
      const slots = due.slice(from, from + this.options.maxBatch);
      const inputs = new Float32Array(slots.length * inLength);
      // Each window is copied out of its ring once: the scale and the inputs then read a flat
      // array instead of computing ring positions twice per value.
      const window = this.scratch(spec.windowSteps);
      const read = (i: number): number => window[i] as number;
      const scales = slots.map((slot, row) => {
        history.copyWindow(slot, window);
        const norm = windowScale(spec, read);
        writeInputs(
          spec,
          read,
          history.lastTsMs[slot] as number,
          history.stepMs[slot] as number,
          norm,
          inputs,
          row * inLength,
        );
        return norm;
      });
      const t0 = this.options.monotonicMs();
      const outputs = forecaster.forecastBatch(inputs, slots.length);
      stats.inferenceMs += this.options.monotonicMs() - t0;
      stats.batches++;
      slots.forEach((slot, row) => {
        const values = new Float64Array(outLength);
        const norm = scales[row] as (typeof scales)[number];
        denormalize(spec, outputs, row * outLength, norm, values, 0);
        this.latest.set(slot, {
          slot,
          originTsMs: history.lastTsMs[slot] as number,
          stepMs: history.stepMs[slot] as number,
          originValue: norm.last,
          values,
          modelVersion: forecaster.info.version,
        });
        this.dirty.delete(slot);
        done.push(slot);
      });
      stats.forecasts += slots.length;
    }
    // Series not yet full stay dirty only until they are: drop those from the set.
    for (const slot of this.dirty) if (!history.isFull(slot)) this.dirty.delete(slot);
    stats.deferred = this.dirty.size;
    return { slots: done, stats };
  }
}
