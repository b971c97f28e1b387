import kafkajs from 'kafkajs';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
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
  private connected = false;
  private running = false;
  readonly finished: Promise<void> = new Promise<void>(() => undefined);

  constructor(
    kafka: Kafka,
    private readonly options: KafkaSourceOptions,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const { CONNECT, DISCONNECT, CRASH } = this.consumer.events;
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
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const records: SourceRecord[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      timestampMs: Number(m.timestamp),
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
  }
}

/** kafkajs log level for our log level: kafkajs is chatty at info. */
export function kafkaLogLevel(level: string): kafkajs.logLevel {
  return level === 'debug' || level === 'trace' ? logLevel.INFO : logLevel.WARN;
}
