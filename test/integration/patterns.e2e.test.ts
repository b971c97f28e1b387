// The three classic self-healing patterns, each end to end on real parts: metrics on the real
// Kafka broker → the worker → actions on the real Redis stream → the executor → a real target
// (PM2 daemons running the demo app; for rollbacks a fake Kubernetes API server, since no
// cluster can run here) → outcomes read back by the worker.
import { rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisExecutorAdmin } from '../../src/adapters/redis/redisExecutorAdmin.js';
import { startWorker, type RunningWorker } from '../../src/main.js';
import { silentLogger } from '../helpers/fakes.js';
import { ExecutorTestbed } from '../helpers/executor.js';
import { startFakeKubernetes, type FakeKubernetes } from '../helpers/fakeKubernetes.js';
import {
  createTopics,
  scrape,
  tempFile,
  testKafka,
  testWorkerConfig,
  uniqueName,
  waitFor,
} from '../helpers/integration.js';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2.js';
import { serviceEnv } from '../setup/env.js';

const { kafkaBrokers, redisUrl } = serviceEnv();

describe('self-healing patterns end to end (Kafka → worker → Redis → executor → target)', () => {
  const kafka = testKafka(kafkaBrokers);
  let admin: Admin;
  let producer: Producer;
  let bed: ExecutorTestbed;
  let worker: RunningWorker | undefined;
  let pm2: Pm2Sandbox | undefined;
  let k8s: FakeKubernetes | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
  });
  afterAll(async () => {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await bed.close();
    await pm2?.stop();
    pm2 = undefined;
    await k8s?.close();
    k8s = undefined;
  });

  async function startPipeline(policies: string, extra: Record<string, unknown> = {}) {
    bed = new ExecutorTestbed(redisUrl);
    await bed.connect();
    const topic = uniqueName('metrics');
    const topics = [{ topic, numPartitions: 1 }];
    const deployments = (extra['kafka'] as { deploymentsTopic?: string } | undefined)
      ?.deploymentsTopic;
    if (deployments) topics.push({ topic: deployments, numPartitions: 1 });
    await createTopics(admin, topics);
    const config = testWorkerConfig({
      kafkaBrokers,
      redisUrl,
      topic,
      policies: tempFile('policies.yaml', policies),
      keyPrefix: bed.prefix,
    });
    const merged = {
      ...config,
      kafka: { ...config.kafka, ...(extra['kafka'] as object) },
      forecast: { ...config.forecast, enabled: false },
    } as typeof config;
    worker = await startWorker(merged, silentLogger());
    return { topic, worker };
  }

  async function sendSamples(
    topic: string,
    name: string,
    labels: Record<string, string>,
    points: [number, number][],
  ) {
    await producer.send({
      topic,
      acks: -1,
      messages: points.map(([timestamp, value]) => ({
        key: name,
        value: JSON.stringify({ name, labels, timestamp, value }),
      })),
    });
  }

  it('1. health-based restart: N consecutive failed liveness probes restart the PM2 app once, then cooldown', async () => {
    pm2 = await startPm2Sandbox();
    const failFile = join(mkdtempSync(join(tmpdir(), 'healcast-fail-')), 'unhealthy');
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 2, failFile });
    await startPipeline(`
- name: web-liveness
  probe:
    httpGet: { path: /healthz, port: ${app.port} }
    initialDelay: 200ms
    period: 250ms
    timeout: 500ms
    failureThreshold: 3
  target: { kind: service, name: ${app.name} }
  actions: [{ type: restart }]
  cooldown: 1m
`);
    await bed.startExecutor(
      bed.config({
        pm2: { home: pm2.home },
        targets: [{ target: { kind: 'service', name: app.name }, pm2: { app: app.name } }],
      }),
    );
    const before = await pm2.describe(app.name);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await bed.outcomes()).toEqual([]);

    writeFileSync(failFile, 'down');
    try {
      const restarted = await waitFor(
        'a restart outcome',
        async () => (await bed.outcomes())[0],
        30_000,
      );
      expect(restarted).toMatchObject({
        policy: 'web-liveness',
        type: 'restart',
        status: 'succeeded',
        reason: 'executed',
      });
      const after = await pm2.describe(app.name);
      expect(after.map((p) => p.restartTime)).toEqual(before.map((p) => p.restartTime + 1));
      // It keeps failing: probes reach the threshold again, but the cooldown holds.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await bed.outcomes()).toHaveLength(1);
      // The worker read the outcome back.
      const seen = await waitFor(
        'outcome read back',
        async () => {
          const counts = await scrape(worker!.httpPort, 'healcast_action_outcomes_total');
          return [...counts.values()].reduce((a, b) => a + b, 0) >= 1 ? counts : undefined;
        },
        10_000,
      );
      expect([...seen.keys()][0]).toContain('status="succeeded"');
    } finally {
      rmSync(failFile, { force: true });
    }
  });

  it('2. circuit breaker: a failing target opens its breaker after N failures, visible in /metrics, and actions go to escalation', async () => {
    const deadHome = mkdtempSync(join(tmpdir(), 'healcast-pm2-down-'));
    const app = uniqueName('ghost');
    const { topic } = await startPipeline(`
- name: cpu-high
  trigger: { metric: cpu_utilization, selector: { service: ${app} }, threshold: 80, duration: 0 }
  target: { kind: service, name: '{{service}}' }
  actions: [{ type: scale, parameters: { replicas: '+1', max: 5 } }]
  cooldown: 0
`);
    const executor = await bed.startExecutor(
      bed.config({
        pm2: { home: deadHome },
        retry: { maxAttempts: 1, initialBackoff: '10ms', maxBackoff: '10ms' },
        breaker: { failureThreshold: 2, halfOpenAfter: '10m' },
        targets: [{ target: { kind: 'service', name: app }, pm2: { app } }],
      }),
    );
    const t0 = Date.now() - 60_000;
    await sendSamples(topic, 'cpu_utilization', { service: app }, [
      [t0, 95],
      [t0 + 15_000, 96],
      [t0 + 30_000, 97],
    ]);
    const outcomes = await waitFor(
      'three outcomes',
      async () => {
        const all = await bed.outcomes();
        return all.length >= 3 ? all : undefined;
      },
      30_000,
    );
    expect(outcomes.map((o) => `${o.status}/${o.reason}`)).toEqual([
      'failed/retries_exhausted',
      'failed/retries_exhausted',
      'deferred/breaker_open',
    ]);
    const state = await scrape(executor.httpPort, 'healcast_executor_breaker_state');
    expect(state.get(`{target="service//${app}"}`)).toBe(2);
    const escalations = await bed.stream(bed.keys.escalationStream);
    expect(escalations).toEqual([
      expect.objectContaining({ reason: 'breaker_open', actionId: outcomes[2]?.actionId }),
    ]);
    expect((await bed.stream(bed.keys.actionsDeadLetterStream)).length).toBe(2);
  });

  it('3. automatic rollback: errors inside a deployment window roll the Deployment back (after a human approves)', async () => {
    k8s = await startFakeKubernetes({
      deployments: [
        { namespace: 'shop', name: 'checkout', images: ['checkout:1.4.0', 'checkout:1.5.0'] },
      ],
    });
    const deploymentsTopic = uniqueName('deployments');
    const { topic } = await startPipeline(
      `
- name: checkout-error-rollback
  trigger: { metric: http_error_ratio, selector: { service: checkout }, operator: '>=', threshold: 0.05, duration: 1m }
  deployment: { window: 15m }
  target: { kind: deployment, name: checkout, namespace: shop }
  actions: [{ type: rollback }]
  cooldown: 30m
`,
      { kafka: { deploymentsTopic } },
    );
    await bed.startExecutor(
      bed.config({
        kubernetes: { server: k8s.url },
        targets: [
          {
            target: { kind: 'deployment', name: 'checkout', namespace: 'shop' },
            kubernetes: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
          },
        ],
      }),
    );
    const deployedAt = Date.now() - 5 * 60_000;
    await producer.send({
      topic: deploymentsTopic,
      acks: -1,
      messages: [
        {
          key: 'checkout',
          value: JSON.stringify({
            service: 'checkout',
            version: '1.5.0',
            previousVersion: '1.4.0',
            time: deployedAt,
          }),
        },
      ],
    });
    // Let the worker read the deployment before the errors (the two topics have no mutual order).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const points: [number, number][] = [];
    for (let i = 0; i <= 8; i++) points.push([deployedAt + 60_000 + i * 15_000, 0.12]);
    await sendSamples(topic, 'http_error_ratio', { service: 'checkout' }, points);

    const waiting = await waitFor(
      'rollback deferred for approval',
      async () => (await bed.outcomes())[0],
      30_000,
    );
    expect(waiting).toMatchObject({
      type: 'rollback',
      status: 'deferred',
      reason: 'awaiting_approval',
    });
    expect(k8s.state.deployment('shop', 'checkout')?.spec.template.spec.containers[0]?.image).toBe(
      'checkout:1.5.0',
    );

    const human = new RedisExecutorAdmin(redisUrl, bed.keys, 3_600_000);
    await human.connect();
    try {
      await human.decide(waiting.actionId, 'approved', 'oncall', 'errors since 1.5.0', Date.now());
    } finally {
      await human.close();
    }
    const done = await bed.outcomeOf(waiting.actionId, 'succeeded');
    expect(done).toMatchObject({
      approvedBy: 'oncall',
      plan: { op: 'rollback', revisionBefore: '2' },
    });
    expect(k8s.state.deployment('shop', 'checkout')?.spec.template.spec.containers[0]?.image).toBe(
      'checkout:1.4.0',
    );
    const patch = k8s.requests.find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({
      path: '/apis/apps/v1/namespaces/shop/deployments/checkout',
      contentType: 'application/json-patch+json',
    });
  });
});
