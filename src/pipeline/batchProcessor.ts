import type { DeadLetterDraft } from './processor.js';
import type { BatchStats } from './processor.js';
import type { Fire } from '../dispatch/envelope.js';
import type { SourceRecord } from '../ingest/source.js';
import type { Processor } from './processor.js';

/** What the core made of one batch, in a form that can cross a thread boundary. */
export interface ProcessedBatch {
  readonly fires: Fire[];
  /** Unusable records by their index in the batch, with the reason. */
  readonly deadLetters: DeadLetterDraft[];
  readonly stats: BatchStats;
  /** Live series and series breaching each policy, after the batch. */
  readonly liveSeries: number;
  readonly breaching: [policy: string, series: number][];
}

/**
 * BatchProcessor — runs the pure core on batches, either on the calling thread or on a
 * worker thread (so decoding and scoring overlap with fetching on another core).
 *
 * Contract: batches are processed strictly in submission order and each promise resolves in
 * that order; `syncCooldown` takes effect before any batch submitted after it.
 */
export interface BatchProcessor {
  process(records: readonly SourceRecord[], nowMs: number): Promise<ProcessedBatch>;
  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void;
  close(): Promise<void>;
}

/** The core on the calling thread. */
export class InlineBatchProcessor implements BatchProcessor {
  constructor(private readonly core: Processor) {}

  process(records: readonly SourceRecord[], nowMs: number): Promise<ProcessedBatch> {
    const { fires, deadLetters, stats } = this.core.processBatch(records, nowMs);
    return Promise.resolve({
      fires,
      deadLetters,
      stats,
      liveSeries: this.core.liveSeries,
      breaching: [...this.core.breachingSeries()],
    });
  }

  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void {
    this.core.syncCooldown(policyName, cooldownKey, lastFiredAtMs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
