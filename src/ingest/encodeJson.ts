import type { MetricSample } from './sample.js';
import type { SourceRecord } from './source.js';

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

/**
 * A replayed sample as the worker's source would deliver it: partition 0, no key, the value in
 * the canonical JSON format. `healcast nab` and `healcast backtest` feed their core with these.
 */
export function jsonSampleRecord(
  sample: MetricSample,
  at: { readonly topic: string; readonly offset: number; readonly timestampMs: number },
): SourceRecord {
  return {
    topic: at.topic,
    partition: 0,
    offset: String(at.offset),
    key: null,
    value: Buffer.from(encodeJsonSample(sample)),
    timestampMs: at.timestampMs,
  };
}
