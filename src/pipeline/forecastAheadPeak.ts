import { medianQuantileIndex } from '../forecast/features.js';
import type { StoredForecast } from '../forecast/engine.js';

/**
 * The highest median forecast for the event times in (`afterMs`, `afterMs + withinMs`]: the
 * load a series is expected to reach before capacity released at `afterMs` could be back (a
 * replica needs the policy's lead time to serve again). A scale-in sized below it gives up
 * replicas the forecast says will be needed before a scale-out could restore them.
 *
 * The median, not an upper quantile: this is the load expected, and a scale-in that reserved
 * for the forecast's tail would keep the quiet spells as expensive as the busy ones.
 * Undefined when the forecast covers none of those times (none stored, too old, or no lead
 * time) or a value there is not finite — the caller then sizes without it.
 */
export function forecastAheadPeak(
  stored: StoredForecast | undefined,
  quantiles: readonly number[],
  afterMs: number,
  withinMs: number,
): number | undefined {
  if (stored === undefined || !(withinMs > 0) || quantiles.length === 0) return undefined;
  const q = quantiles.length;
  const median = medianQuantileIndex(quantiles);
  const steps = stored.values.length / q;
  let peak: number | undefined;
  for (let k = 1; k <= steps; k++) {
    const atMs = stored.originTsMs + k * stored.stepMs;
    if (atMs <= afterMs) continue;
    if (atMs > afterMs + withinMs) break;
    const value = stored.values[(k - 1) * q + median] as number;
    if (!Number.isFinite(value)) return undefined;
    if (peak === undefined || value > peak) peak = value;
  }
  return peak;
}
