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
  readonly forecast: Gauge<'series' | 'horizon_seconds' | 'quantile'>;
  readonly breachProbability: Gauge<'policy' | 'series'>;
  readonly predictThreshold: Gauge<'policy' | 'series'>;
  readonly timeToBreach: Gauge<'policy' | 'series'>;
  readonly modelInfo: Gauge<'version' | 'backend'>;
  readonly modelLoaded: Gauge;
  readonly forecasts: Counter;
  readonly forecastDeferred: Gauge;
  readonly inferenceSeconds: Histogram;
  readonly inferenceBatchSize: Histogram;
  readonly qualityRatio: Gauge<'family'>;
  readonly qualityCoverage: Gauge<'family'>;
  readonly predictiveFallback: Gauge<'family'>;
  readonly actionOutcomes: Counter<'policy' | 'status' | 'reason'>;
  readonly outcomesInvalid: Counter;
  readonly cooldownExtensions: Counter<'policy'>;
  readonly predictionVerdicts: Counter<'policy' | 'verdict' | 'executed'>;
  readonly predictionLeadSeconds: Histogram<'policy'>;

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
    this.forecast = new Gauge({
      name: 'healcast_forecast',
      help: 'Latest quantile forecast per series, horizon and quantile — only for the configured series and the top-K at risk (bounded cardinality).',
      labelNames: ['series', 'horizon_seconds', 'quantile'],
      registers,
    });
    this.breachProbability = new Gauge({
      name: 'healcast_breach_probability',
      help: 'P(threshold breach within the policy horizon) from the forecast, for the configured and top-K at-risk series.',
      labelNames: ['policy', 'series'],
      registers,
    });
    this.predictThreshold = new Gauge({
      name: 'healcast_predict_threshold',
      help: 'Breach probability at which a predictive policy acts ahead on the series now (its probability, or higher where predict.distrust raised it), for the configured and top-K at-risk series.',
      labelNames: ['policy', 'series'],
      registers,
    });
    this.timeToBreach = new Gauge({
      name: 'healcast_time_to_breach_seconds',
      help: 'Expected time to the breach from the forecast (absent when none is expected).',
      labelNames: ['policy', 'series'],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'healcast_model_info',
      help: 'Constant 1, labelled with the forecasting model version and TensorFlow.js backend in use.',
      labelNames: ['version', 'backend'],
      registers,
    });
    this.modelLoaded = new Gauge({
      name: 'healcast_model_loaded',
      help: '1 when a forecasting model is loaded; 0 means baseline-only scoring (reactive triggers only).',
      registers,
    });
    this.forecasts = new Counter({
      name: 'healcast_forecasts_total',
      help: 'Series forecasts made.',
      registers,
    });
    this.forecastDeferred = new Gauge({
      name: 'healcast_forecast_deferred_series',
      help: 'Series due for a forecast but left for the next round because the time budget ran out.',
      registers,
    });
    this.inferenceSeconds = new Histogram({
      name: 'healcast_forecast_inference_seconds',
      help: 'Time of one batched model inference (one tensor).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.inferenceBatchSize = new Histogram({
      name: 'healcast_forecast_batch_size',
      help: 'Series per batched inference.',
      buckets: [1, 8, 32, 128, 512, 1024, 4096],
      registers,
    });
    this.qualityRatio = new Gauge({
      name: 'healcast_forecast_mase_vs_naive',
      help: 'Rolling mean absolute error of the model divided by that of the naive forecast, per series family (metric); > 1 means worse than naive.',
      labelNames: ['family'],
      registers,
    });
    this.qualityCoverage = new Gauge({
      name: 'healcast_forecast_upper_coverage_ratio',
      help: 'Rolling share of actuals at or below the upper-quantile forecast, per family (target: the quantile, e.g. 0.9).',
      labelNames: ['family'],
      registers,
    });
    this.predictiveFallback = new Gauge({
      name: 'healcast_predictive_fallback',
      help: '1 when predictive triggers of a family fell back to reactive because the model did worse than naive for too long.',
      labelNames: ['family'],
      registers,
    });
    this.info = new Gauge({
      name: 'healcast_info',
      help: 'Constant 1, labelled with the worker version and mode (embedded or kafka).',
      labelNames: ['version', 'mode'],
      registers,
    });
    this.actionOutcomes = new Counter({
      name: 'healcast_action_outcomes_total',
      help: "Outcomes the executors recorded for this worker's actions (read back from the outcomes stream), by policy, status and reason.",
      labelNames: ['policy', 'status', 'reason'],
      registers,
    });
    this.outcomesInvalid = new Counter({
      name: 'healcast_outcomes_invalid_total',
      help: 'Entries of the outcomes stream that were not valid outcome records (skipped).',
      registers,
    });
    this.cooldownExtensions = new Counter({
      name: 'healcast_cooldown_extensions_total',
      help: 'Cooldowns moved later because the executor finished acting after the decision (the cooldown starts when the action took effect).',
      labelNames: ['policy'],
      registers,
    });
    this.predictionVerdicts = new Counter({
      name: 'healcast_prediction_verdicts_total',
      help: 'Predictive fires judged at the end of their horizon: in_time (the breach came after the target was ready), too_late (it came before), prevented (no breach, though the series rose toward the threshold), false_alarm (no breach, no rise); executed: yes/no/unknown per the executor outcome.',
      labelNames: ['policy', 'verdict', 'executed'],
      registers,
    });
    this.predictionLeadSeconds = new Histogram({
      name: 'healcast_prediction_lead_seconds',
      help: 'For predictive fires followed by the breach: time from the decision to the breach.',
      labelNames: ['policy'],
      buckets: [15, 30, 60, 120, 300, 600, 900, 1800, 3600],
      registers,
    });
  }
}
