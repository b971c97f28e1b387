import type { StoredForecast } from '../forecast/engine.js';
import { levelsOf } from '../predict/breachProbability.js';
import type { DetectorConfig } from './config.js';
import { SeriesDetector, type DetectorInput, type ForecastBand } from './detector.js';

/**
 * The rich detectors of the series that use one, by the processor's series slot. Series of
 * other metrics get no state here at all: their anomaly score stays the EWMA baseline's.
 */
export class SeriesDetectors {
  private readonly bySlot = new Map<number, SeriesDetector>();
  private readonly allMetrics: boolean;
  private readonly metrics: ReadonlySet<string>;

  constructor(private readonly config: DetectorConfig) {
    this.allMetrics = config.metrics.includes('*');
    this.metrics = new Set(config.metrics);
  }

  /** True when series of `metric` use the rich detector. */
  wants(metric: string): boolean {
    return this.allMetrics || this.metrics.has(metric);
  }

  /** Scores one sample of the series in `slot` (its detector is made on first use). */
  score(slot: number, input: DetectorInput): number {
    let detector = this.bySlot.get(slot);
    if (detector === undefined) {
      detector = new SeriesDetector(this.config);
      this.bySlot.set(slot, detector);
    }
    return detector.score(input);
  }

  /** Forgets the series in `slot` (evicted, or a new series took the slot). */
  forget(slot: number): void {
    this.bySlot.delete(slot);
  }
}

/**
 * The forecast's band for a sample at `tsMs`: the first step of the newest forecast, when that
 * step is this sample's time (within half a step). A forecast from before a gap says nothing
 * about this sample, so there is no band then.
 */
export function bandFor(
  stored: StoredForecast | undefined,
  quantiles: readonly number[],
  tsMs: number,
): ForecastBand | undefined {
  if (stored === undefined || quantiles.length < 2) return undefined;
  if (Math.abs(stored.originTsMs + stored.stepMs - tsMs) > stored.stepMs / 2) return undefined;
  // levelsOf caches the levels' arithmetic (median index, spread) per quantiles array.
  const { median, spreadZ } = levelsOf(quantiles);
  const q = quantiles.length;
  const lower = stored.values[0] as number;
  const upper = stored.values[q - 1] as number;
  if (!Number.isFinite(lower) || !Number.isFinite(upper) || !(spreadZ > 0)) return undefined;
  return { lower, median: stored.values[median] as number, upper, spreadZ };
}
