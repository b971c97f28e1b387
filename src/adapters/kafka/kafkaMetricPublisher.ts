import { encodeJsonSample } from '../../ingest/encodeJson.js';
import kafkajs from 'kafkajs';
import type { Kafka, Producer } from 'kafkajs';
import { seriesKey } from '../../baseline/seriesTable.js';
import { HealcastError } from '../../errors.js';
import type { MetricSample } from '../../ingest/sample.js';
import type { MetricPublisher } from '../../probe/metricPublisher.js';

const { Partitioners } = kafkajs;

/**
 * KafkaMetricPublisher — writes healcast's own samples (probe results) to a metrics topic in
 * the canonical JSON wire format (`{"name","labels","timestamp","value"}`, timestamp in epoch
 * ms; see src/ingest/decodeJson.ts), one message per sample.
 *
 * Each message is keyed by its canonical series key (`name{a="1",…}`) and partitioned by
 * kafkajs' default, Java-compatible murmur2 partitioner: a series always lands in the same
 * partition, so the one worker that owns that partition sees its samples in order, whichever
 * worker published them.
 */
export class KafkaMetricPublisher implements MetricPublisher {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error) {
      throw this.unavailable('cannot connect the metrics producer', error);
    }
  }

  async publish(samples: readonly MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: samples.map((sample) => ({
          key: seriesKey(sample.name, sample.labels),
          value: encodeJsonSample(sample),
        })),
      });
    } catch (error) {
      throw this.unavailable(`cannot write ${samples.length} sample(s)`, error);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private unavailable(what: string, error: unknown): HealcastError {
    // The metrics topic is the worker's own source, so an outage here is the source's outage.
    return new HealcastError('SOURCE_UNAVAILABLE', `${what} to ${this.topic}: ${String(error)}`, {
      retriable: true,
      cause: error,
    });
  }
}
