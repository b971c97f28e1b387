import { Redis } from 'ioredis';
import type kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerConfig } from '../../src/config/assemble.js';
import { ActionEnvelopeSchema, type ActionEnvelope } from '../../src/dispatch/envelope.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import { startWorker, type RunningWorker } from '../../src/main.js';
import { silentLogger } from '../helpers/fakes.js';
import {
  createTopics,
  groupLag,
  scrape,
  tempFile,
  testKafka,
  uniqueName,
  waitFor,
} from '../helpers/integration.js';
import { serviceEnv } from '../setup/env.js';

const MIN = 60_000;
const POLICY = tempFile(
  'rollback.yaml',
  `
- name: error-rate-rollback
  trigger: { metric: http_error_ratio, threshold: 0.05, operator: '>', duration: 1m }
  deployment: { window: 15m, service: '{{service}}' }
  target: { kind: deployment, name: '{{service}}', namespace: shop }
  actions: [{ type: rollback }]
  cooldown: 30m
`,
);

interface Names {
  metrics: string;
  deployments: string;
  dlq: string;
  group: string;
  prefix: string;
}

let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let redis: Redis;
const running: RunningWorker[] = [];

beforeAll(async () => {
  const env = serviceEnv();
  kafka = testKafka(env.kafkaBrokers);
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  redis = new Redis(env.redisUrl);
});

afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
});

afterAll(async () => {
  await Promise.all([producer?.disconnect(), admin?.disconnect()]);
  redis?.disconnect();
});

async function freshNames(): Promise<Names> {
  const n: Names = {
    metrics: uniqueName('metrics'),
    deployments: uniqueName('deployments'),
    dlq: uniqueName('dlq'),
    group: uniqueName('group'),
    prefix: uniqueName('hc'),
  };
  await createTopics(admin, [
    { topic: n.metrics, numPartitions: 2 },
    { topic: n.deployments, numPartitions: 1 },
    { topic: n.dlq, numPartitions: 1 },
  ]);
  return n;
}

/** A worker in Kafka mode reading the metrics and the deployments topic (forecasting off). */
async function start(n: Names): Promise<RunningWorker> {
  const { kafkaBrokers, redisUrl } = serviceEnv();
  const config = buildWorkerConfig({
    mode: 'kafka',
    logLevel: 'silent',
    policies: POLICY,
    http: { host: '127.0.0.1', port: 0 },
    kafka: {
      brokers: kafkaBrokers.split(','),
      topics: [n.metrics],
      deploymentsTopic: n.deployments,
      groupId: n.group,
      deadLetterTopic: n.dlq,
      fromBeginning: true,
      sessionTimeout: '6s',
      heartbeatInterval: '1s',
    },
    redis: { url: redisUrl, keyPrefix: n.prefix },
    forecast: { enabled: false },
  });
  const worker = await startWorker(config, silentLogger());
  running.push(worker);
  return worker;
}

async function deploy(topic: string, event: Record<string, unknown> | string): Promise<void> {
  const value = typeof event === 'string' ? event : JSON.stringify(event);
  await producer.send({ topic, acks: -1, messages: [{ key: 'deploy', value }] });
}

/** One error-ratio sample a minute per service: 1 %, then 20 % from minute `breachFrom` on. */
async function errorRates(
  topic: string,
  baseMs: number,
  services: string[],
  breachFrom: number,
  minutes: number,
): Promise<void> {
  const messages = [];
  for (let minute = 0; minute < minutes; minute++) {
    for (const service of services) {
      messages.push({
        key: service,
        value: JSON.stringify({
          name: 'http_error_ratio',
          labels: { service },
          timestamp: baseMs + minute * MIN,
          value: minute >= breachFrom ? 0.2 : 0.01,
        }),
      });
    }
  }
  await producer.send({ topic, acks: -1, messages });
}

/** Waits until the group has committed everything on `topic`. */
async function drained(n: Names, topic: string): Promise<void> {
  await waitFor(
    `${topic} committed`,
    async () => ((await groupLag(admin, n.group, topic)) === 0 ? true : undefined),
    60_000,
    200,
  );
}

async function actionsIn(prefix: string): Promise<ActionEnvelope[]> {
  const entries = await redis.xrange(redisKeys(prefix).actionsStream, '-', '+');
  return entries.map(([, fields]) =>
    ActionEnvelopeSchema.parse(JSON.parse(fields[fields.indexOf('envelope') + 1] as string)),
  );
}

/**
 * Every message of a dead-letter topic once it holds `expected`: the high watermark says how
 * many there are (so an extra letter fails the test), then a throwaway consumer reads them.
 */
async function deadLetters(topic: string, expected: number): Promise<kafkajs.KafkaMessage[]> {
  const count = async () =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  await waitFor(`${expected} dead letters`, async () =>
    (await count()) >= expected ? true : undefined,
  );
  const total = await count();
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  const read: kafkajs.KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: ({ batch }) => {
      read.push(...batch.messages);
      return Promise.resolve();
    },
  });
  await waitFor('the dead letters read', () => (read.length >= total ? true : undefined));
  await consumer.disconnect();
  return read;
}

describe('automatic rollbacks end to end on real Kafka and Redis', () => {
  it('rolls back once inside a deployment window; not without one, nor after it; a bad event is dead-lettered', async () => {
    const n = await freshNames();
    const baseMs = Math.floor((Date.now() - 40 * MIN) / MIN) * MIN;
    const deployedAtMs = baseMs + 20 * MIN;
    // checkout: deployed at minute 20, errors from minute 23 → rollback at 24.
    // cart: deployed 30 minutes before the series starts, its window long closed.
    // payments: never deployed. Both breach exactly like checkout.
    await deploy(n.deployments, {
      service: 'checkout',
      version: 'v42',
      previousVersion: 'v41',
      time: new Date(deployedAtMs).toISOString(),
    });
    await deploy(n.deployments, { service: 'cart', version: 'v7', time: baseMs - 30 * MIN });
    const typo = JSON.stringify({ serivce: 'payments', version: 'v3', time: deployedAtMs });
    await deploy(n.deployments, typo);

    const worker = await start(n);
    // Deployments come before the errors they cause: let the worker read them first (read in
    // the other order, the rollback would come on the next breaching sample instead).
    await drained(n, n.deployments);
    await errorRates(n.metrics, baseMs, ['checkout', 'cart', 'payments'], 23, 35);
    await drained(n, n.metrics);

    const actions = await actionsIn(n.prefix);
    expect(actions).toHaveLength(1);
    const [action] = actions;
    expect(action).toMatchObject({
      policy: 'error-rate-rollback',
      type: 'rollback',
      trigger: 'reactive',
      target: { kind: 'deployment', name: 'checkout', namespace: 'shop' },
      observedAtMs: baseMs + 24 * MIN,
    });
    expect(action?.evidence.deployment).toEqual({
      service: 'checkout',
      version: 'v42',
      previousVersion: 'v41',
      deployedAtMs,
    });
    expect(action?.evidence.value).toBe(0.2);

    const letters = await deadLetters(n.dlq, 1);
    expect(letters).toHaveLength(1);
    const header = (name: string) => letters[0]?.headers?.[name]?.toString();
    expect(letters[0]?.value?.toString()).toBe(typo);
    expect(header('healcast-reason')).toBe('invalid_schema');
    expect(header('healcast-source-topic')).toBe(n.deployments);
    expect(header('healcast-detail')).toContain('unknown field "serivce"');
    const counted = await scrape(worker.httpPort, 'healcast_dead_letters_total');
    expect(counted.get('{reason="invalid_schema"}')).toBe(1);
  });

  it('a restarted worker still knows an open window: recovery re-reads the deployments topic', async () => {
    const n = await freshNames();
    const baseMs = Math.floor((Date.now() - 20 * MIN) / MIN) * MIN;
    await deploy(n.deployments, { service: 'checkout', version: 'v42', time: baseMs });
    const first = await start(n);
    await drained(n, n.deployments);
    await first.stop();
    running.splice(running.indexOf(first), 1);

    // The deployment is committed: only the state recovery on assignment can bring it back.
    const second = await start(n);
    await waitFor('the deployment re-read', async () => {
      const messages = await scrape(second.httpPort, 'healcast_messages_total');
      return messages.get('{outcome="replayed"}') === 1 ? true : undefined;
    });
    await errorRates(n.metrics, baseMs, ['checkout'], 3, 10);
    await drained(n, n.metrics);
    const actions = await actionsIn(n.prefix);
    expect(actions.map((a) => [a.observedAtMs, a.evidence.deployment?.version])).toEqual([
      [baseMs + 4 * MIN, 'v42'],
    ]);
  });
});
