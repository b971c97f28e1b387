/** One raw message as read from the metrics source, before decoding. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (64-bit). */
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Broker/producer timestamp of the message (ms since epoch). */
  readonly timestampMs: number;
  /**
   * True when the record was processed (and committed) before and is read again only to
   * rebuild in-memory state after a restart: it updates baselines and breaches, but is not
   * dead-lettered or counted again.
   */
  readonly replayed?: boolean;
}

/** A batch of records from one topic-partition, in offset order. */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /** Messages after this batch still waiting in the partition (undefined when unknown). */
  readonly lagAfter: number | undefined;
  /** Keeps group membership alive while a batch takes long (e.g. waiting for Redis). */
  heartbeat(): Promise<void>;
}

/**
 * What the handler tells the source once it is done with a batch: `commit` — every effect of
 * the batch is durable, advance the committed position past it; `abandon` — do not commit
 * (shutting down mid-batch), the batch will be delivered again after a restart.
 */
export type BatchVerdict = 'commit' | 'abandon';

/**
 * The handler's answer to a batch: `accepted` resolves when the handler has room for the
 * batch (the source may fetch the next one — this is where backpressure comes from); `done`
 * resolves with the verdict once the batch's effects are durable (or it was abandoned).
 * Verdicts arrive in submission order.
 */
export interface Submission {
  readonly accepted: Promise<void>;
  readonly done: Promise<BatchVerdict>;
}

/**
 * MetricSource — the stream of metric messages (a Kafka consumer group in production, a
 * replay of a shipped trace in the embedded demo).
 *
 * Contract:
 * - Batches are delivered in offset order per partition; the next batch is fetched once the
 *   previous one is `accepted`, so fetching overlaps with processing.
 * - A batch's position is committed only after its `done` resolved with `commit`, and never
 *   past a batch that was abandoned; a crash re-delivers uncommitted batches (at-least-once),
 *   so handlers must be idempotent.
 * - `stop` stops fetching, waits for the submitted batches to be done, commits, disconnects.
 * - Library errors are translated into `HealcastError`s; library types never leak.
 */
export interface MetricSource {
  start(handler: (batch: SourceBatch) => Submission): Promise<void>;
  stop(): Promise<void>;
  /** True while connected and consuming. */
  isReady(): boolean;
  /** Resolves when a finite source has delivered everything (never for Kafka). */
  readonly finished: Promise<void>;
}

/** A message that could not be (fully) used, on its way to the dead-letter place. */
export interface DeadLetter {
  readonly record: SourceRecord;
  readonly reason: string;
  readonly detail: string;
}

/**
 * DeadLetterSink — where unusable messages go, with their original bytes, the reason and
 * their source coordinates. `send` resolves once all are durable; I/O failures reject with a
 * retriable `HealcastError`.
 */
export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
  isReady(): boolean;
  close(): Promise<void>;
}
