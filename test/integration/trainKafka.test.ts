// Training from the metrics topic against the real broker: the replay reads from a point in
// time to the end with a throwaway group that commits nothing, the worker's decoder turns the
// messages into series, and `healcast train --kafka-topic` trains and saves a model on them.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTopic } from '../../src/adapters/kafka/kafkaTopicReplay.js';
import { train } from '../../src/cli/train.js';
import { ModelManifestSchema } from '../../src/forecast/manifest.js';
import { SampleCollector } from '../../src/training/kafkaReplay.js';
import { createTopics, testKafka, uniqueName } from '../helpers/integration.js';
import { serviceEnv } from '../setup/env.js';

const env = serviceEnv();
const MIN = 60_000;
const STEPS = 240;

describe('training from Kafka', () => {
  const kafka = testKafka(env.kafkaBrokers);
  const admin = kafka.admin();
  const topic = uniqueName('train-metrics');
  const now = Date.now();
  // Recent samples end two minutes ago, one a minute per host.
  const firstMs = Math.floor(now / MIN) * MIN - (STEPS + 1) * MIN;
  const expected = (host: string, i: number): number =>
    (host === 'a' ? 50 : 20) + 10 * Math.sin(i / 9) + (i % 5);

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, [{ topic, numPartitions: 2 }]);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      // Three days old: before --since, must not be read.
      const oldMs = now - 3 * 86_400_000;
      await producer.send({
        topic,
        messages: Array.from({ length: 50 }, (_, i) => ({
          key: 'old',
          timestamp: String(oldMs + i * MIN),
          value: JSON.stringify({ name: 'old_metric', timestamp: oldMs + i * MIN, value: i }),
        })),
      });
      for (const host of ['a', 'b']) {
        await producer.send({
          topic,
          messages: Array.from({ length: STEPS }, (_, i) => ({
            key: host,
            timestamp: String(firstMs + i * MIN),
            value: JSON.stringify({
              name: 'cpu_utilization',
              labels: { host },
              timestamp: firstMs + i * MIN,
              value: expected(host, i),
            }),
          })),
        });
      }
      await producer.send({ topic, messages: [{ key: 'a', value: 'not a sample {' }] });
    } finally {
      await producer.disconnect();
    }
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('replays the topic since a point in time into series, committing nothing', async () => {
    const collector = new SampleCollector();
    const result = await replayTopic(kafka, {
      topic,
      sinceMs: now - 86_400_000,
      onMessage: (value) => collector.add(value, Date.now()),
    });
    expect(result.complete).toBe(true);
    expect(result.messages).toBe(2 * STEPS + 1);
    expect([...collector.problems.values()].reduce((a, b) => a + b, 0)).toBe(1); // the garbage one

    const trace = collector.toTrace(`kafka:${topic}`, { minRows: 20 });
    expect(trace.series.map((s) => s.name).sort()).toEqual([
      'cpu_utilization{host="a"}',
      'cpu_utilization{host="b"}',
    ]);
    for (const s of trace.series) {
      const host = s.name.includes('"a"') ? 'a' : 'b';
      expect(s.stepMs).toBe(MIN);
      expect(s.startMs).toBe(firstMs);
      expect(Array.from(s.values)).toEqual(
        Array.from({ length: STEPS }, (_, i) => expected(host, i)),
      );
    }

    // The throwaway group left no committed offsets behind (it is even deleted).
    const offsets = await admin.fetchOffsets({ groupId: result.groupId, topics: [topic] });
    for (const p of offsets.flatMap((o) => o.partitions)) expect(p.offset).toBe('-1');
  });

  it('healcast train --kafka-topic trains, saves and reports a model', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'healcast-train-'));
    const stdout: string[] = [];
    const outcome = await train(
      {
        kafkaTopic: topic,
        brokers: env.kafkaBrokers,
        since: '1d',
        out: 'models',
        reports: 'training',
        epochs: '2',
        window: '16',
        horizon: '4',
        hidden: '8',
        patience: '2',
      },
      { stdout: (s) => stdout.push(s), stderr: () => undefined },
      { cwd: dir, tty: false, env: {} },
    );
    expect(
      ModelManifestSchema.parse(outcome.manifest)
        .data.map((d) => d.name)
        .sort(),
    ).toEqual(['cpu_utilization{host="a"}', 'cpu_utilization{host="b"}']);
    expect(outcome.manifest.spec.windowSteps).toBe(16);
    expect(outcome.manifest.training.trainWindows).toBeGreaterThan(100);
    expect(Object.keys(outcome.manifest.evaluation)).toEqual(
      expect.arrayContaining(['model', 'naive', 'seasonal_naive', 'holt_winters']),
    );
    for (const file of ['model.json', 'weights.bin', 'manifest.json']) {
      expect(existsSync(path.join(outcome.dir, file))).toBe(true);
    }
    const report = readFileSync(path.join(dir, 'training', 'latest.md'), 'utf8');
    expect(report).toContain(`kafka:${topic}`);
    expect(stdout.join('')).toMatch(/model .* saved in/);
    if (outcome.promoted) {
      expect(JSON.parse(readFileSync(path.join(dir, 'models', 'current.json'), 'utf8'))).toEqual({
        version: outcome.version,
      });
    }
  });
});
