// Smoke test for the integration environment: the Kafka broker and the Redis server that
// test/setup/services.ts provides answer and round-trip data.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { serviceEnv } from '../setup/env.js';

const env = serviceEnv();

describe('integration services', () => {
  it('Kafka: creates a topic, produces a message and consumes it back', async () => {
    const kafka = new Kafka({
      clientId: 'healcast-smoke',
      brokers: env.kafkaBrokers.split(','),
      logLevel: logLevel.WARN,
    });
    const id = randomUUID();
    const topic = `healcast-smoke-${id}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `healcast-smoke-${id}` });
    try {
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });

      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: `hello ${id}` }] });

      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({
          eachMessage: ({ message }) => {
            resolve(message.value?.toString() ?? '');
            return Promise.resolve();
          },
        });
      });
      await expect(received).resolves.toBe(`hello ${id}`);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      // Deleted only once the consumer is gone, so that no fetch races the deletion.
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('Redis: PING and SET/GET', async () => {
    const redis = new Redis(env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const key = `healcast:smoke:${randomUUID()}`;
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.set(key, 'value', 'EX', 60)).toBe('OK');
      expect(await redis.get(key)).toBe('value');
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
  });
});
