import { isRetriable } from '../errors.js';
import type { ActionSink, EnqueueResult } from '../dispatch/actionSink.js';
import type { BatchVerdict, DeadLetterSink, MetricSource, SourceBatch } from '../ingest/source.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { Clock } from './clock.js';
import type { BatchResult, Processor } from './processor.js';

/** Backoff of writes to an unavailable sink: exponential from `initialMs`, capped. */
export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Ports and settings the worker loop needs. */
export interface WorkerDeps {
  readonly source: MetricSource;
  readonly processor: Processor;
  readonly actionSink: ActionSink;
  readonly deadLetterSink: DeadLetterSink;
  readonly metrics: WorkerMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
}

/**
 * The worker loop: for each batch from the source, run the pure core, make its effects
 * durable (dead letters first, then actions), and only then let the source commit.
 *
 * When a sink is down the loop retries with backoff inside the batch, heart-beating so the
 * consumer keeps its partitions: consumption pauses, nothing is committed, nothing is lost.
 * On stop it abandons a batch it could not complete; the batch comes again after restart and
 * the sinks' idempotency drops what was already written.
 */
export class Worker {
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(private readonly deps: WorkerDeps) {}

  /** Starts consuming; resolves once the source is running. */
  async start(): Promise<void> {
    await this.deps.source.start((batch) => this.handle(batch));
  }

  /** Stops fetching, finishes or abandons the in-flight batch, commits, closes the sinks. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const stopSource = this.deps.source.stop();
    // Give an in-flight batch that is waiting on a dead sink a moment, then abandon it.
    const timer = setTimeout(() => this.abort.abort(), 5_000);
    try {
      await stopSource;
    } finally {
      clearTimeout(timer);
      this.abort.abort();
    }
    await Promise.allSettled([this.deps.actionSink.close(), this.deps.deadLetterSink.close()]);
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

  /** Processes one batch; exposed for tests and the replay source. */
  async handle(batch: SourceBatch): Promise<BatchVerdict> {
    const { processor, clock, metrics } = this.deps;
    const startedMs = clock.monotonicMs();
    const result = processor.processBatch(batch.records, clock.nowMs());

    const dlqDone = await this.untilDone('dead_letter', batch, () =>
      this.deps.deadLetterSink.send(result.deadLetters),
    );
    if (!dlqDone.ok) return 'abandon';
    const enqueued = await this.untilDone('action_sink', batch, () =>
      this.deps.actionSink.enqueue(result.fires),
    );
    if (!enqueued.ok) return 'abandon';

    this.record(result, enqueued.value, batch);
    const seconds = (clock.monotonicMs() - startedMs) / 1000;
    metrics.batchSeconds.observe(seconds);
    const newest = batch.records[batch.records.length - 1];
    if (newest !== undefined && newest.replayed !== true && newest.timestampMs > 0) {
      metrics.ingestDelaySeconds.observe(Math.max(0, clock.nowMs() - newest.timestampMs) / 1000);
    }
    return 'commit';
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

  private record(result: BatchResult, enqueued: EnqueueResult[], batch: SourceBatch): void {
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
    metrics.liveSeries.set(processor.liveSeries);
    for (const [policy, count] of processor.breachingSeries()) {
      metrics.breachingSeries.set({ policy }, count);
    }
    if (!Number.isNaN(stats.maxEventTimeMs))
      metrics.lastEventTimestamp.set(stats.maxEventTimeMs / 1000);
    if (batch.lagAfter !== undefined) {
      metrics.consumerLag.set(
        { topic: batch.topic, partition: String(batch.partition) },
        batch.lagAfter,
      );
    }
    for (const letter of result.deadLetters) {
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
    enqueued.forEach((outcome, i) => {
      const fire = result.fires[i];
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
