import type { MetricSample } from './sample.js';

/**
 * One sample in the canonical JSON wire format that `decodeJson` reads back to the same
 * sample: what healcast itself writes to a metrics topic (probe results) and feeds its core in
 * replays (`healcast nab`, `healcast backtest`). JSON has no NaN (Prometheus' staleness marker):
 * it is written as the text "NaN", which the decoder reads as NaN.
 */
export function encodeJsonSample(sample: MetricSample): string {
  return JSON.stringify({
    name: sample.name,
    labels: sample.labels,
    timestamp: sample.timestampMs,
    value: Number.isNaN(sample.value) ? 'NaN' : sample.value,
  });
}
