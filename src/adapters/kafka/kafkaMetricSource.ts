import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { HealcastError } from '../../errors.js';
import type { MetricSource, SourceBatch, SourceRecord, Submission } from '../../ingest/source.js';
import type { Logger } from '../../observability/logger.js';

const { logLevel } = kafkajs;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settings of the Kafka consumer. */
export interface KafkaSourceOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  /**
   * On (re)assignment, re-read this much time before the committed offset to rebuild
   * baselines, breaches and cooldowns (0 disables). Those records are marked `replayed`.
   */
  readonly recoveryLookbackMs: number;
}

/**
 * KafkaMetricSource — a kafkajs consumer group behind the MetricSource port.
 *
 * Offsets are committed explicitly (autoCommit off) and only after the handler said the
 * batch's effects are durable: that is the whole at-least-once argument, so it is not left to
 * kafkajs' interval-based auto-commit. kafkajs is in maintenance mode; nothing outside this
 * folder imports it, so it can be swapped.
 */
export class KafkaMetricSource implements MetricSource {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  /** Per `topic:partition`, the committed offset below which records are a state replay. */
  private readonly replayUntil = new Map<string, Promise<bigint | undefined>>();
  private connected = false;
  private running = false;
  /** Commits, chained so they reach the broker in submission order. */
  private commits: Promise<void> = Promise.resolve();
  /** Once a batch is abandoned, no later offset may be committed (it would skip it). */
  private abandoned = false;
  /** The eachBatch call in progress, if any (stop waits for it). */
  private inBatch: Promise<void> = Promise.resolve();
  readonly finished: Promise<void> = new Promise<void>(() => undefined);

  constructor(
    kafka: Kafka,
    private readonly options: KafkaSourceOptions,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.admin = kafka.admin();
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const { CONNECT, DISCONNECT, CRASH, GROUP_JOIN } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => {
      this.planRecovery(event.payload.memberAssignment);
    });
    this.consumer.on(CONNECT, () => {
      this.connected = true;
    });
    this.consumer.on(DISCONNECT, () => {
      this.connected = false;
    });
    this.consumer.on(CRASH, (event) => {
      this.connected = false;
      this.log.error(
        { event: 'consumer_crashed', error: String(event.payload.error) },
        'kafka consumer crashed; kafkajs restarts it',
      );
    });
  }

  isReady(): boolean {
    return this.connected && this.running;
  }

  async start(handler: (batch: SourceBatch) => Submission): Promise<void> {
    try {
      await this.admin.connect();
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning,
      });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => (this.inBatch = this.onBatch(payload, handler)),
      });
      this.running = true;
    } catch (error) {
      throw new HealcastError(
        'SOURCE_UNAVAILABLE',
        `cannot start the Kafka consumer: ${String(error)}`,
        {
          retriable: true,
          cause: error,
        },
      );
    }
  }

  private async onBatch(
    payload: EachBatchPayload,
    handler: (batch: SourceBatch) => Submission,
  ): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || this.abandoned) return;
    // Wait for the recovery plan of this partition: it may seek back, which makes this
    // batch (fetched from the committed offset) stale.
    const replayUntil = await this.replayUntil.get(`${batch.topic}:${batch.partition}`);
    if (payload.isStale()) return;
    const records: SourceRecord[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      timestampMs: Number(m.timestamp),
      replayed: replayUntil !== undefined && BigInt(m.offset) < replayUntil,
    }));
    const lagText = batch.offsetLag();
    const submission = handler({
      topic: batch.topic,
      partition: batch.partition,
      records,
      lagAfter: lagText === undefined ? undefined : Number(lagText),
      heartbeat: () => payload.heartbeat(),
    });
    const last = batch.lastOffset();
    const next = (BigInt(last) + 1n).toString();
    this.commits = this.commits.then(async () => {
      const verdict = await submission.done.catch(() => 'abandon' as const);
      if (verdict !== 'commit' || this.abandoned) {
        this.abandoned = true;
        return;
      }
      try {
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: next },
        ]);
      } catch (error) {
        // A rebalance took the partition away: its new owner re-reads from the last commit,
        // and the sinks' idempotency drops what this worker already wrote.
        this.log.warn(
          {
            event: 'commit_failed',
            topic: batch.topic,
            partition: batch.partition,
            offset: next,
            error: String(error),
          },
          'offset commit failed; the batch will be re-processed by the partition owner',
        );
      }
    });
    // Backpressure: hold this eachBatch (and so the next fetch) until the worker has room,
    // heart-beating meanwhile so a long wait (a sink down) does not cost the partitions.
    let accepted = false;
    void submission.accepted.then(() => {
      accepted = true;
    });
    await Promise.race([submission.accepted, delay(0)]);
    while (!accepted && payload.isRunning()) {
      await Promise.race([submission.accepted, delay(1_000)]);
      if (!accepted) await payload.heartbeat().catch(() => undefined);
    }
    // Move the fetch position past the batch; the commit follows when it is done.
    payload.resolveOffset(last);
  }

  async stop(): Promise<void> {
    this.running = false;
    // Stop fetching but stay in the group, so the batches still in the pipeline can commit.
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
    await this.inBatch;
    await this.commits;
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }

  /**
   * State recovery: the worker's state (baselines, breach starts, cooldowns) lives in memory,
   * so after a restart or a rebalance it would start cold and a breach already under way
   * would have to last its full duration again. Instead, each newly assigned partition is
   * re-read from `recoveryLookbackMs` before its committed offset; those records rebuild the
   * state (their dead letters were written the first time; fires they repeat are dropped by
   * the sink's fire-id dedupe and durable cooldown).
   */
  private planRecovery(assignment: Record<string, number[]>): void {
    for (const [topic, partitions] of Object.entries(assignment)) {
      const plan = this.recoveryFor(topic, partitions).catch((error: unknown) => {
        this.log.warn(
          { event: 'state_recovery_failed', topic, error: String(error) },
          'could not plan state recovery; starting from the committed offsets with cold state',
        );
        return new Map<number, bigint>();
      });
      for (const partition of partitions) {
        this.replayUntil.set(
          `${topic}:${partition}`,
          plan.then((until) => until.get(partition)),
        );
      }
    }
  }

  private async recoveryFor(topic: string, partitions: number[]): Promise<Map<number, bigint>> {
    const until = new Map<number, bigint>();
    if (this.options.recoveryLookbackMs <= 0) return until;
    const [committed] = await this.admin.fetchOffsets({
      groupId: this.options.groupId,
      topics: [topic],
    });
    // A new group has nothing committed, hence no state to rebuild: skip the time lookup.
    const anyCommitted = committed?.partitions.some(
      (p) => partitions.includes(p.partition) && BigInt(p.offset) >= 0n,
    );
    if (anyCommitted !== true) return until;
    const fromTime = await this.admin.fetchTopicOffsetsByTimestamp(
      topic,
      this.nowMs() - this.options.recoveryLookbackMs,
    );
    for (const partition of partitions) {
      const committedText = committed?.partitions.find((p) => p.partition === partition)?.offset;
      const rewindText = fromTime.find((p) => p.partition === partition)?.offset;
      if (committedText === undefined || rewindText === undefined) continue;
      const committedOffset = BigInt(committedText);
      const rewindOffset = BigInt(rewindText);
      // -1: no committed offset (new group) — nothing to recover.
      if (committedOffset < 0n || rewindOffset < 0n || rewindOffset >= committedOffset) continue;
      this.consumer.seek({ topic, partition, offset: rewindOffset.toString() });
      until.set(partition, committedOffset);
      this.log.info(
        {
          event: 'state_recovery_started',
          topic,
          partition,
          fromOffset: rewindOffset.toString(),
          committedOffset: committedOffset.toString(),
        },
        `re-reading ${committedOffset - rewindOffset} messages to rebuild state before resuming`,
      );
    }
    return until;
  }
}

/** kafkajs log level for our log level: kafkajs is chatty at info. */
export function kafkaLogLevel(level: string): kafkajs.logLevel {
  return level === 'debug' || level === 'trace' ? logLevel.INFO : logLevel.WARN;
}
