import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ActionEnvelopeSchema } from '../../src/dispatch/envelope.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import { startWorker, type RunningWorker } from '../../src/main.js';
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
import { serviceEnv } from '../setup/env.js';

const MIN = 60_000;
const POLICY = `
- name: api-cpu-predictive
  trigger:
    metric: cpu_utilization
    selector: { service: api }
    threshold: 80
    duration: 2m
    predict: { horizon: 10m, probability: 0.1 }
  leadTime: 3m
  target: { kind: deployment, name: '{{service}}' }
  actions: [{ type: scale, parameters: { replicas: '+2', max: 10 } }]
  cooldown: 30m
`;

/** Three quiet hours around 40 %, then a steady climb of 1.5 points a minute to 100 %. */
function series(baseMs: number): { tsMs: number; value: number }[] {
  const points: { tsMs: number; value: number }[] = [];
  for (let minute = 0; minute < 220; minute++) {
    const noise = (((minute * 7919) % 17) / 17 - 0.5) * 2;
    const value = minute < 180 ? 40 + noise : Math.min(100, 40 + 1.5 * (minute - 179) + noise);
    points.push({ tsMs: baseMs + minute * MIN, value });
  }
  return points;
}

describe('predictive policy end to end on real Kafka and Redis, with the shipped model', () => {
  let running: RunningWorker | undefined;
  afterAll(async () => {
    await running?.stop();
  });

  it('enqueues a pre-emptive action before the first actual breach, lead time in the evidence', async () => {
    const { kafkaBrokers, redisUrl } = serviceEnv();
    const kafka = testKafka(kafkaBrokers);
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    const topic = uniqueName('predict');
    const group = uniqueName('group');
    const prefix = uniqueName('hc');
    await createTopics(admin, [{ topic, numPartitions: 1 }]);
    const baseMs = Math.floor((Date.now() - 230 * MIN) / MIN) * MIN;
    const points = series(baseMs);
    await producer.send({
      topic,
      messages: points.map((p) => ({
        key: 'api',
        value: JSON.stringify({
          name: 'cpu_utilization',
          labels: { service: 'api' },
          timestamp: p.tsMs,
          value: p.value,
        }),
      })),
    });

    running = await startWorker(
      testWorkerConfig({
        kafkaBrokers,
        redisUrl,
        topic,
        group,
        keyPrefix: prefix,
        policies: tempFile('p.yaml', POLICY),
      }),
      silentLogger(),
    );
    const port = running.httpPort;
    await waitFor(
      'model loaded',
      async () => ((await scrape(port, 'healcast_model_loaded')).get('') === 1 ? true : undefined),
      60_000,
    );
    await waitFor(
      'all consumed',
      async () => ((await groupLag(admin, group, topic)) === 0 ? true : undefined),
      60_000,
      200,
    );

    const redis = new Redis(redisUrl);
    const entries = await redis.xrange(redisKeys(prefix).actionsStream, '-', '+');
    redis.disconnect();
    const actions = entries.map(([, f]) =>
      ActionEnvelopeSchema.parse(JSON.parse(f[f.indexOf('envelope') + 1] as string)),
    );
    const firstBreach = points.find((p) => p.value > 80);
    expect(firstBreach).toBeDefined();
    expect(actions.length).toBeGreaterThanOrEqual(1);
    const first = actions[0];
    expect(first?.trigger).toBe('predictive');
    expect(first?.observedAtMs).toBeLessThan(firstBreach?.tsMs ?? 0);
    expect(first?.evidence.prediction?.leadTimeMs).toBe(3 * MIN);
    expect(first?.evidence.prediction?.probability).toBeGreaterThanOrEqual(0.1);
    // Acted at least the lead time before the breach actually happened.
    expect((firstBreach?.tsMs ?? 0) - (first?.observedAtMs ?? 0)).toBeGreaterThanOrEqual(3 * MIN);
    const probability = await scrape(port, 'healcast_breach_probability');
    expect(probability.size).toBeGreaterThanOrEqual(1);
    const forecast = await scrape(port, 'healcast_forecast');
    expect([...forecast.keys()].some((k) => k.includes('service=\\"api\\"'))).toBe(true);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });
});
