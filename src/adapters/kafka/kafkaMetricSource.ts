import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { HealcastError } from '../../errors.js';
import type { BatchVerdict, MetricSource, SourceBatch, SourceRecord } from '../../ingest/source.js';
import type { Logger } from '../../observability/logger.js';

const { logLevel } = kafkajs;

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

  async start(handler: (batch: SourceBatch) => Promise<BatchVerdict>): Promise<void> {
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
        eachBatch: (payload) => this.onBatch(payload, handler),
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
    handler: (batch: SourceBatch) => Promise<BatchVerdict>,
  ): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning()) return;
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
    const verdict = await handler({
      topic: batch.topic,
      partition: batch.partition,
      records,
      lagAfter: lagText === undefined ? undefined : Number(lagText),
      heartbeat: () => payload.heartbeat(),
    });
    if (verdict !== 'commit') return;
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    await this.consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ]);
  }

  async stop(): Promise<void> {
    this.running = false;
    // disconnect() stops fetching and waits for the in-flight eachBatch (which commits).
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
