import type { StoredForecast } from '../forecast/engine.js';
import { quantileAt } from '../predict/breachProbability.js';

/**
 * The highest forecast at quantile `level` for the event times in (`afterMs`, `afterMs +
 * withinMs`]: the load a series may reach before capacity released at `afterMs` could be back
 * (a replica needs the policy's lead time to serve again). A scale-in sized below it gives up
 * replicas the forecast says may be needed before a scale-out could restore them.
 *
 * `level` is 1 − the policy's `reserve.probability`: 0.5 (the default) keeps the load expected;
 * a higher level keeps part of the forecast's upper tail, the same risk a predictive scale-out
 * takes in the other direction. Undefined when the forecast covers none of those times (none
 * stored, too old, or no lead time) or a value there is not finite — the caller then sizes
 * without it.
 */
export function forecastAheadPeak(
  stored: StoredForecast | undefined,
  quantiles: readonly number[],
  afterMs: number,
  withinMs: number,
  level: number,
): number | undefined {
  if (stored === undefined || !(withinMs > 0) || quantiles.length === 0) return undefined;
  const q = quantiles.length;
  const steps = stored.values.length / q;
  let peak: number | undefined;
  for (let k = 1; k <= steps; k++) {
    const atMs = stored.originTsMs + k * stored.stepMs;
    if (atMs <= afterMs) continue;
    if (atMs > afterMs + withinMs) break;
    const value = quantileAt(stored.values, (k - 1) * q, quantiles, level);
    if (!Number.isFinite(value)) return undefined;
    if (peak === undefined || value > peak) peak = value;
  }
  return peak;
}
