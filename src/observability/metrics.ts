import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every metric healcast exports, created on an injected registry (never the global one, so
 * tests and several workers in one process do not collide). Names follow Prometheus
 * conventions: `healcast_<noun>_<unit>`, `_total` for counters, base units.
 */
export class WorkerMetrics {
  readonly messages: Counter<'outcome'>;
  readonly samples: Counter<'outcome'>;
  readonly deadLetters: Counter<'reason'>;
  readonly liveSeries: Gauge;
  readonly evictions: Counter;
  readonly breachingSeries: Gauge<'policy'>;
  readonly fires: Counter<'policy' | 'status'>;
  readonly actions: Counter<'policy' | 'type'>;
  readonly batchSeconds: Histogram;
  readonly ingestDelaySeconds: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly sinkRetries: Counter<'sink'>;
  readonly ready: Gauge<'component'>;
  readonly lastEventTimestamp: Gauge;
  readonly info: Gauge<'version' | 'mode'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.messages = new Counter({
      name: 'healcast_messages_total',
      help: 'Input messages by outcome: ok, partially_invalid (used and dead-lettered), dead_lettered, replayed (re-read to rebuild state after a restart).',
      labelNames: ['outcome'],
      registers,
    });
    this.samples = new Counter({
      name: 'healcast_samples_total',
      help: 'Decoded samples by outcome: scored, out_of_order, duplicate_timestamp, stale_marker.',
      labelNames: ['outcome'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'healcast_dead_letters_total',
      help: 'Messages written to the dead-letter topic, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.liveSeries = new Gauge({
      name: 'healcast_live_series',
      help: 'Series with baseline state in memory (bounded by baseline max series).',
      registers,
    });
    this.evictions = new Counter({
      name: 'healcast_series_evictions_total',
      help: 'Series whose state was dropped to make room for a new one (least recently seen first).',
      registers,
    });
    this.breachingSeries = new Gauge({
      name: 'healcast_breaching_series',
      help: 'Series currently on the wrong side of a policy threshold.',
      labelNames: ['policy'],
      registers,
    });
    this.fires = new Counter({
      name: 'healcast_policy_fires_total',
      help: 'Policy firings by what the action sink did with them: enqueued, duplicate, cooling_down.',
      labelNames: ['policy', 'status'],
      registers,
    });
    this.actions = new Counter({
      name: 'healcast_actions_total',
      help: 'Actions enqueued for the executor, by policy and action type.',
      labelNames: ['policy', 'type'],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'healcast_batch_processing_seconds',
      help: 'Time to process one input batch end to end (decode, score, decide, enqueue, dead-letter).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.ingestDelaySeconds = new Histogram({
      name: 'healcast_ingest_delay_seconds',
      help: 'Wall-clock time from a message entering the source (its Kafka timestamp) to its batch being handled; one observation per batch (its newest message).',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'healcast_consumer_lag_messages',
      help: 'Messages between the last processed offset and the high watermark, per partition.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.sinkRetries = new Counter({
      name: 'healcast_sink_retries_total',
      help: 'Retries of a write to the action sink or dead-letter topic while it was unavailable.',
      labelNames: ['sink'],
      registers,
    });
    this.ready = new Gauge({
      name: 'healcast_component_ready',
      help: '1 when a dependency (source, action_sink, dead_letter) is connected, else 0.',
      labelNames: ['component'],
      registers,
    });
    this.lastEventTimestamp = new Gauge({
      name: 'healcast_last_event_timestamp_seconds',
      help: 'Event time of the newest sample scored.',
      registers,
    });
    this.info = new Gauge({
      name: 'healcast_info',
      help: 'Constant 1, labelled with the worker version and mode (embedded or kafka).',
      labelNames: ['version', 'mode'],
      registers,
    });
  }
}
