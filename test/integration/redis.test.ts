import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisActionSink } from '../../src/adapters/redis/redisActionSink.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import { startWorker, type RunningWorker } from '../../src/main.js';
import { actionSinkContract } from '../contract/actionSink.contract.js';
import { silentLogger } from '../helpers/fakes.js';
import {
  createTopics,
  groupLag,
  scrape,
  tempFile,
  testKafka,
  testWorkerConfig,
  uniqueName,
  waitFor,
} from '../helpers/integration.js';
import { buildScenario, expectedFireTimes, SCENARIO_POLICY } from '../helpers/scenario.js';
import { serviceEnv } from '../setup/env.js';

let shared: Redis;
beforeAll(() => {
  shared = new Redis(serviceEnv().redisUrl);
});
afterAll(() => {
  shared.disconnect();
});

actionSinkContract('RedisActionSink', async () => {
  const keys = redisKeys(uniqueName('contract'));
  const sink = new RedisActionSink({
    url: serviceEnv().redisUrl,
    keys,
    markerTtlMs: 3_600_000,
    streamMaxLen: 10_000,
  });
  await sink.connect();
  return {
    sink,
    read: async () => {
      const entries = await shared.xrange(keys.actionsStream, '-', '+');
      return entries.map(([, fields]) => fields[fields.indexOf('actionId') + 1] as string);
    },
  };
});

/** A private redis-server this test may kill and restart without disturbing the others. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const probe = new Redis({
      port: this.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined); // refused connections while it boots are expected
    await waitFor(
      'private redis to answer',
      async () => {
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } catch {
          probe.disconnect();
          return undefined;
        }
      },
      10_000,
    );
    probe.disconnect();
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

describe('when Redis is down', () => {
  let running: RunningWorker | undefined;
  const redis = new PrivateRedis(20_000 + Math.floor(Math.random() * 10_000));
  afterAll(async () => {
    await running?.stop();
    await redis.stop();
  });

  it('pauses: nothing is committed and nothing lost until Redis is back', async () => {
    const { kafkaBrokers } = serviceEnv();
    const kafka = testKafka(kafkaBrokers);
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    const topic = uniqueName('metrics');
    const group = uniqueName('group');
    const prefix = uniqueName('hc');
    await createTopics(admin, [{ topic, numPartitions: 1 }]);
    await redis.start();

    const config = testWorkerConfig({
      kafkaBrokers,
      redisUrl: `redis://127.0.0.1:${redis.port}`,
      topic,
      group,
      keyPrefix: prefix,
      policies: tempFile('p.yaml', SCENARIO_POLICY),
      extra: { retry: { initial: 50, max: 500 } },
    });
    running = await startWorker(config, silentLogger());
    await waitFor('worker ready', () => (running?.worker.isReady() ? true : undefined), 30_000);

    await redis.stop();
    const baseMs = Math.floor((Date.now() - 3 * 3_600_000) / 10_000) * 10_000;
    const messages = buildScenario(baseMs);
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({
        topic,
        messages: messages.slice(i, i + 1000).map((m) => ({ key: m.key, value: m.value })),
      });
    }

    // The worker reaches the first fire, cannot write it, and holds: the lag stays.
    const port = running.httpPort;
    await waitFor(
      'retries against the dead sink',
      async () => {
        const retries = await scrape(port, 'healcast_sink_retries_total');
        return (retries.get('{sink="action_sink"}') ?? 0) >= 3 ? true : undefined;
      },
      30_000,
    );
    const lagWhileDown = await groupLag(admin, group, topic);
    expect(lagWhileDown).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await groupLag(admin, group, topic)).toBe(lagWhileDown);

    await redis.start();
    await waitFor(
      'all committed after Redis came back',
      async () => ((await groupLag(admin, group, topic)) === 0 ? true : undefined),
      60_000,
      200,
    );
    const client = new Redis({ port: redis.port });
    const entries = await client.xrange(redisKeys(prefix).actionsStream, '-', '+');
    client.disconnect();
    const observed = entries.map(
      ([, f]) =>
        (JSON.parse(f[f.indexOf('envelope') + 1] as string) as { observedAtMs: number })
          .observedAtMs,
    );
    expect(observed).toEqual(expectedFireTimes(baseMs));
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });
});
