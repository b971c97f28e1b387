import { isRetriable } from '../errors.js';
import type { ActionSink, EnqueueResult } from '../dispatch/actionSink.js';
import type {
  BatchVerdict,
  DeadLetter,
  DeadLetterSink,
  MetricSource,
  SourceBatch,
  SourceRecord,
  Submission,
} from '../ingest/source.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { Clock } from './clock.js';
import type { Fire } from '../dispatch/envelope.js';
import type { JudgedPrediction } from '../learn/predictionJudge.js';
import type { LatestViews } from './latestViews.js';
import type { BatchProcessor, ProcessedBatch } from './batchProcessor.js';

/** Backoff of writes to an unavailable sink: exponential from `initialMs`, capped. */
export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Ports and settings the worker loop needs. */
export interface WorkerDeps {
  readonly source: MetricSource;
  readonly processor: BatchProcessor;
  readonly actionSink: ActionSink;
  readonly deadLetterSink: DeadLetterSink;
  readonly metrics: WorkerMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  /** Batches submitted but not yet durable before the source must wait (backpressure). */
  readonly maxInFlightBatches: number;
  /** On stop, how long batches waiting on an unavailable sink get before being abandoned. */
  readonly shutdownGraceMs: number;
  /** Where the newest inspection views go (the HTTP endpoint reads them). */
  readonly views?: LatestViews;
  /** Receives the verdicts on earlier predictive fires (the learn step). */
  readonly onJudgements?: (judged: readonly JudgedPrediction[]) => void;
}

/**
 * The worker loop, a two-stage pipeline: for each batch from the source, (1) the core decodes
 * and scores it (on a worker thread in production, so this overlaps with fetching the next
 * batch), then (2) its effects are made durable — dead letters first, then actions — and only
 * then may the source commit it. Both stages keep submission order.
 *
 * When a sink is down stage 2 retries with backoff, heart-beating so the consumer keeps its
 * partitions; the in-flight limit then stops the source: consumption pauses, nothing is
 * committed, nothing is lost. On stop, a batch that cannot be completed is abandoned, and so
 * is every batch after it (committing a later offset would skip it); they come again after
 * restart and the sinks' idempotency drops what was already written.
 */
export class Worker {
  private readonly abort = new AbortController();
  private stopping = false;
  /** Stage 2 of the last submitted batch (stage 2 runs one batch at a time, in order). */
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private abandoned = false;
  private healthy = true;

  constructor(private readonly deps: WorkerDeps) {}

  /** Starts consuming; resolves once the source is running. */
  async start(): Promise<void> {
    await this.deps.source.start((batch) => this.submit(batch));
  }

  /** Stops fetching, finishes or abandons the batches in flight, commits, closes the sinks. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const stopSource = this.deps.source.stop();
    // Give batches waiting on a dead sink a moment, then abandon them.
    const timer = setTimeout(() => this.abort.abort(), this.deps.shutdownGraceMs);
    try {
      await stopSource;
      await this.tail;
    } finally {
      clearTimeout(timer);
      this.abort.abort();
    }
    await Promise.allSettled([
      this.deps.processor.close(),
      this.deps.actionSink.close(),
      this.deps.deadLetterSink.close(),
    ]);
  }

  /** Liveness: false after an unexpected failure (the process should be restarted). */
  isAlive(): boolean {
    return this.healthy;
  }

  /** True when the source and both sinks are connected. */
  isReady(): boolean {
    const { source, actionSink, deadLetterSink, metrics } = this.deps;
    const parts = {
      source: source.isReady(),
      action_sink: actionSink.isReady(),
      dead_letter: deadLetterSink.isReady(),
    };
    for (const [component, ok] of Object.entries(parts))
      metrics.ready.set({ component }, ok ? 1 : 0);
    return parts.source && parts.action_sink && parts.dead_letter;
  }

  /** Processes one batch to the end; for tests and sequential callers. */
  async handle(batch: SourceBatch): Promise<BatchVerdict> {
    return this.submit(batch).done;
  }

  /** Submits a batch to the pipeline (see `Submission`). */
  submit(batch: SourceBatch): Submission {
    const { processor, clock } = this.deps;
    const startedMs = clock.monotonicMs();
    this.inFlight++;
    const processed = processor.process(batch.records, clock.nowMs());
    // Keep the rejection observed until stage 2 gets to it.
    processed.catch(() => undefined);
    const done = this.tail.then(() => this.finish(batch, processed, startedMs));
    this.tail = done.catch(() => undefined);
    void done.finally(() => {
      this.inFlight--;
      this.roomWaiters.shift()?.();
    });
    const accepted =
      this.inFlight <= this.deps.maxInFlightBatches
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    return { accepted, done };
  }

  private async finish(
    batch: SourceBatch,
    processed: Promise<ProcessedBatch>,
    startedMs: number,
  ): Promise<BatchVerdict> {
    if (this.abandoned) return 'abandon';
    const { clock, metrics, log } = this.deps;
    let result: ProcessedBatch;
    try {
      result = await processed;
    } catch (error) {
      this.healthy = false;
      this.abandoned = true;
      log.fatal(
        { event: 'processing_failed', error: String(error) },
        'the core failed on a batch; stopping commits',
      );
      return 'abandon';
    }
    const letters: DeadLetter[] = result.deadLetters.map((draft) => ({
      record: batch.records[draft.index] as SourceRecord,
      reason: draft.reason,
      detail: draft.detail,
    }));
    const dlqDone = await this.untilDone('dead_letter', batch, () =>
      this.deps.deadLetterSink.send(letters),
    );
    if (!dlqDone.ok) return this.abandon();
    // Forecast-only fires are recorded (metrics, logs) but never reach the executor.
    const toSink = result.fires.filter((fire) => fire.forecastOnly !== true);
    const enqueued = await this.untilDone('action_sink', batch, () =>
      this.deps.actionSink.enqueue(toSink),
    );
    if (!enqueued.ok) return this.abandon();

    this.record(result, letters, toSink, enqueued.value, batch);
    metrics.batchSeconds.observe((clock.monotonicMs() - startedMs) / 1000);
    const newest = batch.records[batch.records.length - 1];
    if (newest !== undefined && newest.replayed !== true && newest.timestampMs > 0) {
      metrics.ingestDelaySeconds.observe(Math.max(0, clock.nowMs() - newest.timestampMs) / 1000);
    }
    return 'commit';
  }

  private modelVersion: string | null | undefined;
  private modelError: string | null | undefined;

  /** Forecast metrics, model status changes, fallback transitions, inspection views. */
  private recordForecast(result: ProcessedBatch): void {
    const { metrics, log } = this.deps;
    const model = result.model;
    if (model !== undefined) {
      metrics.modelLoaded.set(model.version === null ? 0 : 1);
      if (model.version !== this.modelVersion) {
        this.modelVersion = model.version;
        metrics.modelInfo.reset();
        if (model.version !== null) {
          metrics.modelInfo.set({ version: model.version, backend: model.backend ?? 'unknown' }, 1);
          log.info(
            { event: 'model_loaded', version: model.version, backend: model.backend },
            `forecasting with model ${model.version} on the ${model.backend} backend`,
          );
        }
      }
      if (model.error !== this.modelError) {
        this.modelError = model.error;
        if (model.error !== null) {
          log.warn(
            { event: 'model_unavailable', error: model.error, running: model.version },
            model.version === null
              ? `no forecasting model (${model.error}): scoring on baselines only, reactive triggers only`
              : `keeping model ${model.version}: ${model.error}`,
          );
        }
      }
    }
    const report = result.forecast;
    if (report === undefined) return;
    const { round } = report;
    if (round.forecasts > 0) {
      metrics.forecasts.inc(round.forecasts);
      const perBatchSeconds = round.inferenceMs / 1000 / Math.max(1, round.batches);
      for (let b = 0; b < round.batches; b++) {
        metrics.inferenceSeconds.observe(perBatchSeconds);
        metrics.inferenceBatchSize.observe(round.forecasts / round.batches);
      }
    }
    metrics.forecastDeferred.set(round.deferred);
    for (const family of report.quality) {
      if (Number.isFinite(family.ratio))
        metrics.qualityRatio.set({ family: family.family }, family.ratio);
      if (Number.isFinite(family.upperCoverage)) {
        metrics.qualityCoverage.set({ family: family.family }, family.upperCoverage);
      }
      metrics.predictiveFallback.set({ family: family.family }, family.fallback ? 1 : 0);
    }
    for (const { family, transition } of report.transitions) {
      log.warn(
        {
          event:
            transition === 'entered' ? 'predictive_fallback_entered' : 'predictive_fallback_left',
          family,
        },
        transition === 'entered'
          ? `forecasts of ${family} do worse than naive: its predictive triggers fall back to reactive`
          : `forecasts of ${family} beat naive again: predictive triggers back on`,
      );
    }
    // Bounded cardinality: only the configured and top-K at-risk series become labels.
    metrics.forecast.reset();
    metrics.breachProbability.reset();
    metrics.predictThreshold.reset();
    metrics.timeToBreach.reset();
    for (const view of report.views) {
      const forecast = view.forecast;
      if (forecast !== null) {
        forecast.quantiles.forEach((quantile, q) => {
          forecast.tsMs.forEach((tsMs, h) => {
            metrics.forecast.set(
              {
                series: view.series,
                horizon_seconds: String(Math.round((tsMs - forecast.madeAtMs) / 1000)),
                quantile: String(quantile),
              },
              forecast.values[q]?.[h] ?? NaN,
            );
          });
        });
      }
      for (const policy of view.policies) {
        if (policy.probability !== null) {
          metrics.breachProbability.set(
            { policy: policy.name, series: view.series },
            policy.probability,
          );
        }
        if (policy.actsAtProbability !== null) {
          metrics.predictThreshold.set(
            { policy: policy.name, series: view.series },
            policy.actsAtProbability,
          );
        }
        if (policy.etaMs !== null) {
          metrics.timeToBreach.set(
            { policy: policy.name, series: view.series },
            policy.etaMs / 1000,
          );
        }
      }
    }
    this.deps.views?.update(report.list, report.views);
  }

  private abandon(): BatchVerdict {
    this.abandoned = true;
    return 'abandon';
  }

  private async untilDone<T>(
    sink: string,
    batch: SourceBatch,
    write: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    const { clock, metrics, log, retry } = this.deps;
    let delayMs = retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await write();
        if (attempt > 1) {
          log.info(
            { event: 'sink_recovered', sink, attempts: attempt },
            `${sink} is writable again`,
          );
        }
        return { ok: true, value };
      } catch (error) {
        if (!isRetriable(error)) throw error;
        metrics.sinkRetries.inc({ sink });
        metrics.ready.set({ component: sink }, 0);
        if (attempt === 1 || attempt % 20 === 0) {
          log.warn(
            {
              event: 'sink_unavailable',
              sink,
              attempt,
              error: String(error),
              partition: batch.partition,
            },
            `${sink} unavailable: consumption paused, offsets not committed, retrying`,
          );
        }
        if (this.abort.signal.aborted) {
          log.warn(
            { event: 'batch_abandoned', sink },
            'stopping with a batch not written; it will be re-processed after restart',
          );
          return { ok: false };
        }
        await clock.sleep(delayMs, this.abort.signal);
        delayMs = Math.min(delayMs * 2, retry.maxMs);
        try {
          await batch.heartbeat();
        } catch (heartbeatError) {
          log.debug(
            { event: 'heartbeat_failed', error: String(heartbeatError) },
            'heartbeat failed',
          );
        }
      }
    }
  }

  private record(
    result: ProcessedBatch,
    letters: readonly DeadLetter[],
    sent: readonly Fire[],
    enqueued: EnqueueResult[],
    batch: SourceBatch,
  ): void {
    const { metrics, log, processor } = this.deps;
    const { stats } = result;
    metrics.messages.inc({ outcome: 'ok' }, stats.messagesOk);
    metrics.messages.inc({ outcome: 'partially_invalid' }, stats.messagesPartial);
    metrics.messages.inc({ outcome: 'dead_lettered' }, stats.messagesDeadLettered);
    metrics.messages.inc({ outcome: 'replayed' }, stats.messagesReplayed);
    metrics.samples.inc({ outcome: 'scored' }, stats.samplesScored);
    metrics.samples.inc({ outcome: 'out_of_order' }, stats.samplesOutOfOrder);
    metrics.samples.inc({ outcome: 'duplicate_timestamp' }, stats.samplesDuplicate);
    metrics.samples.inc({ outcome: 'stale_marker' }, stats.samplesStale);
    for (const [reason, count] of stats.deadLetterReasons)
      metrics.deadLetters.inc({ reason }, count);
    if (stats.evictions > 0) metrics.evictions.inc(stats.evictions);
    metrics.liveSeries.set(result.liveSeries);
    for (const [policy, count] of result.breaching) metrics.breachingSeries.set({ policy }, count);
    if (!Number.isNaN(stats.maxEventTimeMs))
      metrics.lastEventTimestamp.set(stats.maxEventTimeMs / 1000);
    if (batch.lagAfter !== undefined) {
      metrics.consumerLag.set(
        { topic: batch.topic, partition: String(batch.partition) },
        batch.lagAfter,
      );
    }
    for (const letter of letters) {
      log.warn(
        {
          event: 'message_dead_lettered',
          reason: letter.reason,
          detail: letter.detail.slice(0, 500),
          topic: letter.record.topic,
          partition: letter.record.partition,
          offset: letter.record.offset,
        },
        'message dead-lettered',
      );
    }
    for (const { event: deployment, outcome } of result.deployments) {
      const { service, version } = deployment;
      log.info(
        {
          event: outcome === 'recorded' ? 'deployment_recorded' : 'deployment_superseded',
          ...deployment,
        },
        outcome === 'recorded'
          ? `deployment of ${service} ${version} recorded: deployment-gated policies watch it`
          : `deployment of ${service} ${version} is not newer than the one on record: ignored`,
      );
    }
    if (result.judgements.length > 0) this.deps.onJudgements?.(result.judgements);
    this.recordForecast(result);
    for (const fire of result.fires) {
      if (fire.forecastOnly !== true) continue;
      metrics.fires.inc({ policy: fire.policy, status: 'forecast_only' });
      for (const action of fire.actions) {
        log.info(
          {
            event: 'action_forecast_only',
            actionId: action.actionId,
            policy: action.policy,
            type: action.type,
            target: action.target,
            evidence: action.evidence,
          },
          `forecast-only: policy ${action.policy} would ${action.type} ${action.target.kind}/${action.target.name}`,
        );
      }
    }
    enqueued.forEach((outcome, i) => {
      const fire = sent[i];
      if (fire === undefined) return;
      metrics.fires.inc({ policy: fire.policy, status: outcome.status });
      if (outcome.status === 'enqueued') {
        for (const action of fire.actions) {
          metrics.actions.inc({ policy: fire.policy, type: action.type });
          log.info(
            {
              event: 'action_enqueued',
              actionId: action.actionId,
              policy: action.policy,
              type: action.type,
              target: action.target,
              evidence: action.evidence,
            },
            `policy ${action.policy} fired: ${action.type} ${action.target.kind}/${action.target.name}`,
          );
        }
      } else if (outcome.status === 'cooling_down') {
        processor.syncCooldown(fire.policy, fire.cooldownKey, outcome.lastFiredAtMs);
        log.info(
          {
            event: 'fire_suppressed',
            fireId: fire.fireId,
            policy: fire.policy,
            reason: 'cooling_down',
          },
          'fire suppressed by the durable cooldown',
        );
      } else {
        log.info(
          { event: 'fire_deduplicated', fireId: fire.fireId, policy: fire.policy },
          'fire already enqueued',
        );
      }
    });
  }
}
