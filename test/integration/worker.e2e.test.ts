import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompressionCodecs } from '../../src/adapters/kafka/compression.js';
import { ActionEnvelopeSchema, type ActionEnvelope } from '../../src/dispatch/envelope.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import {
  createTopics,
  groupLag,
  scrape,
  spawnWorker,
  tempFile,
  testKafka,
  uniqueName,
  waitFor,
  type WorkerProcess,
} from '../helpers/integration.js';
import {
  buildScenario,
  expectedFireTimes,
  MALFORMED,
  SCENARIO_POLICY,
  TOTAL_MESSAGES,
  type ScenarioMessage,
} from '../helpers/scenario.js';
import { serviceEnv } from '../setup/env.js';

const { CompressionTypes } = kafkajs;
const CODECS = [
  CompressionTypes.GZIP,
  CompressionTypes.Snappy,
  CompressionTypes.LZ4,
  CompressionTypes.ZSTD,
  CompressionTypes.None,
];

let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let redis: Redis;
const policyFile = tempFile('policies.yaml', SCENARIO_POLICY);
// A killed member holds its partitions until its session times out: keep that short (the
// broker's minimum is 6 s) so the restarted worker takes over quickly.
const FAST_CONFIG = tempFile(
  'fast.yaml',
  'kafka:\n  brokers: ["overridden:1"]\n  sessionTimeout: 6s\n  heartbeatInterval: 1s\n',
);
// ...and small fetches, so the first worker is still mid-stream when it is killed.
const SLOW_CONFIG = tempFile(
  'slow.yaml',
  'kafka:\n  brokers: ["overridden:1"]\n  sessionTimeout: 6s\n  heartbeatInterval: 1s\n  maxBytesPerPartition: 4096\n',
);
const workers: WorkerProcess[] = [];

/** Produces the scenario in batches of 500, rotating through every compression codec. */
async function produce(topic: string, messages: ScenarioMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({
      topic,
      acks: -1,
      compression: CODECS[(i / 500) % CODECS.length] as kafkajs.CompressionTypes,
      messages: messages.slice(i, i + 500).map((m) => ({ key: m.key, value: m.value })),
    });
  }
}

interface Names {
  topic: string;
  dlq: string;
  group: string;
  prefix: string;
}

function names(): Names {
  return {
    topic: uniqueName('metrics'),
    dlq: uniqueName('dlq'),
    group: uniqueName('group'),
    prefix: uniqueName('hc'),
  };
}

function startWorker(
  n: Names,
  extraEnv: Record<string, string> = {},
  extraArgs: string[] = [],
): WorkerProcess {
  const { kafkaBrokers, redisUrl } = serviceEnv();
  const worker = spawnWorker(
    [
      '--brokers',
      kafkaBrokers,
      '--redis',
      redisUrl,
      '--topics',
      n.topic,
      '--group',
      n.group,
      '--dead-letter-topic',
      n.dlq,
      '--policies',
      policyFile,
      '--from-beginning',
      '--port',
      '0',
      ...(extraArgs.length > 0 ? extraArgs : ['--config', FAST_CONFIG]),
    ],
    { HEALCAST_REDIS_PREFIX: n.prefix, HEALCAST_LOG_LEVEL: 'info', ...extraEnv },
  );
  workers.push(worker);
  return worker;
}

async function actionsIn(prefix: string): Promise<ActionEnvelope[]> {
  const entries = await redis.xrange(redisKeys(prefix).actionsStream, '-', '+');
  return entries.map(([, fields]) => {
    const envelope = fields[fields.indexOf('envelope') + 1] as string;
    return ActionEnvelopeSchema.parse(JSON.parse(envelope));
  });
}

async function readDeadLetters(
  topic: string,
  expected: number,
): Promise<{ value: Buffer | null; headers: Record<string, string> }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  const letters: { value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      letters.push({ value: message.value, headers });
      return Promise.resolve();
    },
  });
  await waitFor(
    `${expected} dead letters`,
    () => (letters.length >= expected ? true : undefined),
    60_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 500)); // any extra would show up now
  await consumer.disconnect();
  return letters;
}

beforeAll(async () => {
  await registerCompressionCodecs();
  const env = serviceEnv();
  kafka = testKafka(env.kafkaBrokers);
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
  redis = new Redis(env.redisUrl);
});

afterAll(async () => {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.disconnect();
  redis?.disconnect();
});

/** Fresh names, topics, and the scenario produced; returns the expected fire times. */
async function scenarioTopic(): Promise<{ n: Names; expected: number[] }> {
  const n = names();
  await createTopics(admin, [
    { topic: n.topic, numPartitions: 3 },
    { topic: n.dlq, numPartitions: 1 },
  ]);
  const baseMs = Math.floor((Date.now() - 3 * 3_600_000) / 10_000) * 10_000;
  await produce(n.topic, buildScenario(baseMs));
  return { n, expected: expectedFireTimes(baseMs) };
}

/** Starts a worker on the same group and waits until it has committed everything. */
async function restartAndDrain(
  n: Names,
): Promise<{ second: WorkerProcess; after: ActionEnvelope[] }> {
  const second = startWorker(n);
  await second.port;
  await waitFor(
    'all messages committed',
    async () => ((await groupLag(admin, n.group, n.topic)) === 0 ? true : undefined),
    90_000,
    250,
  );
  return { second, after: await actionsIn(n.prefix) };
}

describe('worker end to end on real Kafka and Redis', () => {
  it('turns 10,000 messages (1% malformed, all codecs and formats) into one action per cooldown window', async () => {
    const n = names();
    await createTopics(admin, [
      { topic: n.topic, numPartitions: 3 },
      { topic: n.dlq, numPartitions: 1 },
    ]);
    const baseMs = Math.floor((Date.now() - 3 * 3_600_000) / 10_000) * 10_000;
    const messages = buildScenario(baseMs);
    expect(messages).toHaveLength(TOTAL_MESSAGES);
    await produce(n.topic, messages);

    const worker = startWorker(n);
    const port = await worker.port;
    await waitFor(
      'all messages committed',
      async () => ((await groupLag(admin, n.group, n.topic)) === 0 ? true : undefined),
      90_000,
      250,
    );

    const actions = await actionsIn(n.prefix);
    const expected = expectedFireTimes(baseMs);
    expect(actions.map((a) => a.observedAtMs)).toEqual(expected);
    expect(new Set(actions.map((a) => a.actionId)).size).toBe(actions.length);
    for (const action of actions) {
      expect(action).toMatchObject({
        policy: 'web-cpu-high',
        type: 'scale',
        target: { kind: 'deployment', name: 'web', namespace: 'prod' },
        scale: { mode: 'relative', replicas: 2, maxReplicas: 10 },
        parameters: { replicas: '+2', max: 10 },
        cooldownMs: 600_000,
      });
      expect(action.evidence.series).toBe('cpu_utilization{env="prod",host="web-1"}');
      expect(action.evidence.value).toBeGreaterThan(80);
      expect(action.evidence.breachDurationMs).toBeGreaterThanOrEqual(300_000);
    }
    // The first action's evidence carries a warm baseline well below the breach.
    expect(actions[0]?.evidence.baselineMean).toBeLessThan(80);

    const letters = await readDeadLetters(n.dlq, MALFORMED);
    expect(letters).toHaveLength(MALFORMED);
    const sentBad = messages
      .filter((m) => m.malformed)
      .map((m) => m.value.toString('base64'))
      .sort();
    expect(letters.map((l) => (l.value ?? Buffer.alloc(0)).toString('base64')).sort()).toEqual(
      sentBad,
    );
    for (const letter of letters) {
      expect(letter.headers['healcast-reason']).toMatch(/^[a-z_]+$/);
      expect(letter.headers['healcast-source-topic']).toBe(n.topic);
      expect(Number(letter.headers['healcast-source-offset'])).toBeGreaterThanOrEqual(0);
    }

    const deadByReason = await scrape(port, 'healcast_dead_letters_total');
    expect([...deadByReason.values()].reduce((a, b) => a + b, 0)).toBe(MALFORMED);
    const outcomes = await scrape(port, 'healcast_messages_total');
    expect(outcomes.get('{outcome="ok"}')).toBe(TOTAL_MESSAGES - MALFORMED);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    // Graceful shutdown on SIGTERM: exits 0.
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.logs.some((l) => l.event === 'shutdown_completed')).toBe(true);
  });

  it('loses no action and enqueues none twice when the worker is killed -9 mid-stream', async () => {
    const { n, expected } = await scenarioTopic();

    const first = startWorker(n, {}, ['--config', SLOW_CONFIG]);
    await waitFor(
      'a few actions',
      async () => ((await actionsIn(n.prefix)).length >= 3 ? true : undefined),
      90_000,
      10,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const before = await actionsIn(n.prefix);
    expect(before.length).toBeLessThan(expected.length); // really mid-stream

    const { second, after } = await restartAndDrain(n);
    expect(after.map((a) => a.observedAtMs)).toEqual(expected);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('re-processes a batch whose actions were written but whose offsets were not committed, without duplicates', async () => {
    const { n, expected } = await scenarioTopic();

    // Fault injection: the process kills itself (SIGKILL) right after the 2nd successful
    // enqueue, before committing: the worst moment for duplicates.
    const first = startWorker(n, { HEALCAST_TEST_CRASH_AFTER_ENQUEUES: '2' }, [
      '--config',
      SLOW_CONFIG,
    ]);
    expect(await first.exited).toBe('SIGKILL');
    const before = await actionsIn(n.prefix);
    expect(before.length).toBe(2);

    const { second, after } = await restartAndDrain(n);
    expect(after.map((a) => a.observedAtMs)).toEqual(expected);
    expect(after.slice(0, 2).map((a) => a.actionId)).toEqual(before.map((a) => a.actionId));
    const fires = await scrape(await second.port, 'healcast_policy_fires_total');
    // The re-processed batch's fires were recognised (duplicate or cooling down), not re-enqueued.
    const refused = [...fires.entries()]
      .filter(([k]) => !k.includes('enqueued'))
      .reduce((a, [, v]) => a + v, 0);
    expect(refused).toBeGreaterThanOrEqual(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
