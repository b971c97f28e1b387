import type { Kafka, Producer } from 'kafkajs';
import { HealcastError } from '../../errors.js';
import type { DeadLetter, DeadLetterSink } from '../../ingest/source.js';

/**
 * KafkaDeadLetterSink — unusable messages go to a dead-letter topic with their original key
 * and bytes untouched, and the reason and source coordinates in headers, so they can be
 * inspected and replayed once the producer is fixed.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: Producer;
  private connected = false;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
    this.producer.on(this.producer.events.CONNECT, () => {
      this.connected = true;
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  isReady(): boolean {
    return this.connected;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: letters.map((letter) => ({
          key: letter.record.key === null ? null : Buffer.from(letter.record.key),
          value: letter.record.value === null ? null : Buffer.from(letter.record.value),
          headers: {
            'healcast-reason': letter.reason,
            'healcast-detail': letter.detail.slice(0, 4096),
            'healcast-source-topic': letter.record.topic,
            'healcast-source-partition': String(letter.record.partition),
            'healcast-source-offset': letter.record.offset,
            'healcast-source-timestamp': String(letter.record.timestampMs),
          },
        })),
      });
    } catch (error) {
      throw new HealcastError(
        'DEAD_LETTER_FAILED',
        `cannot write ${letters.length} dead letter(s) to ${this.topic}: ${String(error)}`,
        { retriable: true, cause: error },
      );
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
