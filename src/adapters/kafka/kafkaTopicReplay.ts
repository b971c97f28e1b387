import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { HealcastError } from '../../errors.js';

/** What a replay read. */
export interface TopicReplayResult {
  /** Messages handed to `onMessage`. */
  readonly messages: number;
  /** Partitions read (those with messages at or after `sinceMs`). */
  readonly partitions: number;
  /** The throwaway consumer group used (nothing was committed under it). */
  readonly groupId: string;
  /** False when the replay stopped on `idleTimeoutMs` before reaching every high watermark. */
  readonly complete: boolean;
}

/** Options of {@link replayTopic}. */
export interface TopicReplayOptions {
  readonly topic: string;
  /** Read messages whose Kafka timestamp is at or after this time (epoch ms). */
  readonly sinceMs: number;
  /** Called for each message value in partition order (partitions interleave). */
  readonly onMessage: (value: Buffer | null, timestampMs: number) => void;
  /** Give up waiting when no message arrived for this long (ms); default 15 s. */
  readonly idleTimeoutMs?: number;
  /** Prefix of the throwaway group id; default `healcast-train`. */
  readonly groupPrefix?: string;
}

/**
 * Reads a topic from a point in time up to its end as it was when the replay started — a
 * bounded read, for training, that leaves no trace in the cluster:
 *
 * 1. the admin client looks up, per partition, the first offset at or after `sinceMs` and
 *    the high watermark (the end);
 * 2. a consumer in a fresh, unique group (so it shares partitions with no one and starts
 *    nowhere in particular) seeks every partition to its start offset and reads, without
 *    committing anything, until each partition reaches its end;
 * 3. the consumer disconnects and the empty group is deleted.
 *
 * Messages produced after the replay started are not waited for. Any Kafka failure becomes
 * a retriable `SOURCE_UNAVAILABLE` error.
 */
export async function replayTopic(
  kafka: Kafka,
  options: TopicReplayOptions,
): Promise<TopicReplayResult> {
  const groupId = `${options.groupPrefix ?? 'healcast-train'}-${randomBytes(6).toString('hex')}`;
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let messages = 0;
  let complete = true;
  let partitions = 0;
  try {
    await admin.connect();
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(options.topic, options.sinceMs),
      admin.fetchTopicOffsets(options.topic),
    ]);
    const endOf = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
    // Per partition: the next offset still to read; a partition is done once it reaches its end.
    const remaining = new Map<number, { next: bigint; end: bigint }>();
    for (const { partition, offset } of starts) {
      const end = endOf.get(partition) ?? 0n;
      const start = BigInt(offset);
      if (start < end) remaining.set(partition, { next: start, end });
    }
    partitions = remaining.size;
    if (remaining.size === 0) return { messages, partitions, groupId, complete };

    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let lastProgress = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const state = remaining.get(batch.partition);
        if (state === undefined) return;
        for (const message of batch.messages) {
          if (!payload.isRunning()) return;
          const offset = BigInt(message.offset);
          if (offset < state.next) continue;
          if (offset >= state.end) break;
          options.onMessage(message.value, Number(message.timestamp));
          messages++;
          state.next = offset + 1n;
        }
        // Control records (transaction markers) are never delivered, so the batch's last
        // offset — not the last message — says how far the partition really got.
        const last = BigInt(batch.lastOffset()) + 1n;
        if (last > state.next) state.next = last;
        lastProgress = Date.now();
        if (state.next >= state.end) remaining.delete(batch.partition);
        if (remaining.size === 0) finish();
        await Promise.resolve();
      },
    });
    for (const [partition, { next }] of remaining) {
      consumer.seek({ topic: options.topic, partition, offset: next.toString() });
    }
    const idleMs = options.idleTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((resolve) => {
      timer = setInterval(
        () => {
          if (Date.now() - lastProgress > idleMs) resolve();
        },
        Math.min(1000, idleMs),
      );
    });
    try {
      await Promise.race([done, idle]);
    } finally {
      clearInterval(timer);
    }
    complete = remaining.size === 0;
    return { messages, partitions, groupId, complete };
  } catch (error) {
    if (error instanceof HealcastError) throw error;
    throw new HealcastError(
      'SOURCE_UNAVAILABLE',
      `cannot replay Kafka topic ${options.topic}: ${String(error)}`,
      { retriable: true, cause: error },
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
    // The group never committed anything; removing it keeps `kafka-consumer-groups --list`
    // free of one entry per training run. A failure here changes nothing for the caller.
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
