/**
 * MetricPublisher — the port through which healcast writes samples of its own (probe results)
 * into the metrics stream it reads, so they reach policies exactly like scraped metrics
 * (`src/adapters/kafka/kafkaMetricPublisher.ts` in production).
 *
 * Contract: `publish` resolves once every sample is durably written, and rejects with a
 * `HealcastError` (retriable when a later attempt may pass) when they could not be; samples of
 * one series are written in the order given, to one place, so a reader sees them in order.
 */
import type { MetricSample } from '../ingest/sample.js';

export interface MetricPublisher {
  publish(samples: readonly MetricSample[]): Promise<void>;
}
