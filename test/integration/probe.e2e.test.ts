import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HttpProber } from '../../src/adapters/http/httpProber.js';
import { buildWorkerConfig } from '../../src/config/assemble.js';
import { ActionEnvelopeSchema, type ActionEnvelope } from '../../src/dispatch/envelope.js';
import { redisKeys } from '../../src/dispatch/keys.js';
import { startWorker, type RunningWorker } from '../../src/main.js';
import type { HttpGetSpec } from '../../src/policy/schema.js';
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

/** A real local HTTP server; `handle` answers each request and every request is recorded. */
async function serve(
  handle: (path: string, res: ServerResponse) => void,
): Promise<{ server: Server; port: number; requests: { path: string; atMs: number }[] }> {
  const requests: { path: string; atMs: number }[] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', atMs: Date.now() });
    handle(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('HttpProber against a real HTTP server (kubelet semantics)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

  async function endpoint(handle: (path: string, res: ServerResponse) => void) {
    const served = await serve(handle);
    servers.push(served.server);
    return (path: string): HttpGetSpec => ({
      scheme: 'http',
      host: '127.0.0.1',
      port: served.port,
      path,
    });
  }

  it('takes 200-399 as success without following redirects, and 4xx/5xx as failure', async () => {
    const at = await endpoint((path, res) => {
      const status = Number(path.slice(1));
      if (status >= 300 && status < 400) res.setHeader('location', 'http://127.0.0.1:1/');
      res.writeHead(status).end('x'.repeat(20_000));
    });
    const prober = new HttpProber();
    const results = await Promise.all(
      [200, 204, 302, 399, 400, 404, 500, 503].map((s) => prober.probe(at(`/${s}`), 1_000)),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, false, false, false, false]);
    expect(results[7]).toEqual({
      ok: false,
      reason: 'http_status',
      detail: 'HTTP 503 Service Unavailable',
      status: 503,
    });
  });

  it('fails with reason timeout when the answer, or its body, does not come in time', async () => {
    const at = await endpoint((path, res) => {
      if (path === '/slow-body') res.writeHead(200).write('partial'); // and never ends
    });
    const prober = new HttpProber();
    const started = performance.now();
    const [silent, slowBody] = await Promise.all([
      prober.probe(at('/silent'), 200),
      prober.probe(at('/slow-body'), 200),
    ]);
    const elapsedMs = performance.now() - started;
    expect(silent).toMatchObject({ ok: false, reason: 'timeout' });
    expect(slowBody).toMatchObject({ ok: false, reason: 'timeout' });
    expect(elapsedMs).toBeGreaterThanOrEqual(190);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('fails with reason connection_refused when nothing listens', async () => {
    const { server, port } = await serve(() => undefined);
    await close(server);
    const result = await new HttpProber().probe(
      { scheme: 'http', host: '127.0.0.1', port, path: '/healthz' },
      1_000,
    );
    expect(result).toMatchObject({ ok: false, reason: 'connection_refused' });
  });

  it('gives up at once, as aborted, when its signal aborts', async () => {
    const at = await endpoint(() => undefined);
    const abort = new AbortController();
    const pending = new HttpProber().probe(at('/healthz'), 10_000, abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(pending).resolves.toMatchObject({ ok: false, reason: 'aborted' });
  });
});

describe('health-based restarts end to end on real Kafka and Redis', () => {
  const COOLDOWN_MS = 6_000;
  let running: RunningWorker | undefined;
  let api: Awaited<ReturnType<typeof serve>> | undefined;
  let redis: Redis | undefined;
  let admin: Admin | undefined;
  afterAll(async () => {
    await running?.stop();
    await admin?.disconnect();
    if (api) await close(api.server);
    redis?.disconnect();
  });

  it('restarts once after 3 consecutive failed probes, then holds its cooldown', async () => {
    const { kafkaBrokers, redisUrl } = serviceEnv();
    let healthy = true;
    /** When each failing answer was served (ms since epoch). */
    const failedAtMs: number[] = [];
    api = await serve((_path, res) => {
      if (!healthy) failedAtMs.push(Date.now());
      res.writeHead(healthy ? 200 : 503).end();
    });
    const served = api.requests;

    const kafka = testKafka(kafkaBrokers);
    const kafkaAdmin = kafka.admin();
    admin = kafkaAdmin;
    await kafkaAdmin.connect();
    const topic = uniqueName('probe');
    const group = uniqueName('group');
    const prefix = uniqueName('hc');
    await createTopics(kafkaAdmin, [{ topic, numPartitions: 3 }]);
    const policies = tempFile(
      'probes.yaml',
      `
- name: api-liveness
  probe:
    httpGet: { path: /healthz, port: ${api.port} }
    initialDelay: 500ms
    period: 250ms
    timeout: 200ms
    failureThreshold: 3
  target: { kind: service, name: api }
  actions: [{ type: restart }]
  cooldown: ${COOLDOWN_MS}ms
`,
    );
    redis = new Redis(redisUrl);
    const stream = redisKeys(prefix).actionsStream;
    const actions = async (): Promise<ActionEnvelope[]> =>
      (await (redis as Redis).xrange(stream, '-', '+')).map(([, f]) =>
        ActionEnvelopeSchema.parse(JSON.parse(f[f.indexOf('envelope') + 1] as string)),
      );
    const consumed = () =>
      waitFor(
        'every probe sample consumed',
        async () => ((await groupLag(kafkaAdmin, group, topic)) === 0 ? true : undefined),
        30_000,
        100,
      );

    const startedAtMs = Date.now();
    running = await startWorker(
      testWorkerConfig({ kafkaBrokers, redisUrl, topic, group, keyPrefix: prefix, policies }),
      silentLogger(),
    );
    const port = running.httpPort;

    // Healthy: probes pass, their samples reach the policy, nothing is restarted.
    await waitFor('6 healthy probes', () => (served.length >= 6 ? true : undefined), 30_000, 50);
    expect((served[0]?.atMs ?? 0) - startedAtMs).toBeGreaterThanOrEqual(500); // initial delay
    await waitFor(
      'probe samples scored',
      async () => {
        const scored = (await scrape(port, 'healcast_samples_total')).get('{outcome="scored"}');
        return (scored ?? 0) >= 12 ? true : undefined;
      },
      30_000,
      100,
    );
    await consumed();
    expect(await actions()).toEqual([]);

    // Failing: the third consecutive failure fires exactly one restart.
    healthy = false;
    const [first] = await waitFor(
      'a restart action',
      async () => {
        const found = await actions();
        return found.length > 0 ? found : undefined;
      },
      30_000,
      50,
    );
    expect(first).toMatchObject({
      policy: 'api-liveness',
      type: 'restart',
      target: { kind: 'service', name: 'api' },
      trigger: 'reactive',
      cooldownMs: COOLDOWN_MS,
      evidence: {
        metric: 'healcast_probe_consecutive_failures',
        labels: { probe: 'api-liveness', target: 'api' },
        value: 3,
        threshold: 3,
      },
    });
    // Not before: it was observed at the third failing probe and decided after it was served.
    const [, secondFailureMs, thirdFailureMs] = failedAtMs;
    expect(secondFailureMs).toBeLessThan(first?.observedAtMs ?? 0);
    expect(thirdFailureMs).toBeGreaterThanOrEqual(first?.observedAtMs ?? 0);
    expect(first?.decidedAtMs).toBeGreaterThanOrEqual(thirdFailureMs ?? Number.POSITIVE_INFINITY);

    // Still failing: the probe starts over (initial delay, three more failures) and reaches the
    // threshold twice more within the cooldown; the worker scores those samples and holds back.
    await waitFor(
      'a 10th failed probe (the 9th, a threshold, is published by then)',
      async () => {
        const probes = await scrape(port, 'healcast_probes_total');
        return (probes.get('{probe="api-liveness",result="failure"}') ?? 0) >= 10
          ? true
          : undefined;
      },
      30_000,
      50,
    );
    await consumed();
    const cooldownEndsMs = (first?.observedAtMs ?? 0) + COOLDOWN_MS;
    expect(Date.now()).toBeLessThan(cooldownEndsMs); // checked while the cooldown lasts
    expect(await actions()).toHaveLength(1);
    const failures = await scrape(port, 'healcast_probe_failures_total');
    expect(failures.get('{probe="api-liveness",reason="http_status"}')).toBeGreaterThanOrEqual(10);

    // The cooldown over and the endpoint still failing, the next threshold restarts again.
    const second = await waitFor(
      'a second restart after the cooldown',
      async () => (await actions())[1],
      30_000,
      100,
    );
    expect(second.observedAtMs - (first?.observedAtMs ?? 0)).toBeGreaterThanOrEqual(COOLDOWN_MS);
    expect(second.evidence.value).toBe(3);
  });
});

describe('probe policies without Kafka', () => {
  it('are skipped with a warning by the embedded demo', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const { server, port, requests } = await serve((_path, res) => res.writeHead(200).end());
    const policies = tempFile(
      'probes.yaml',
      `
- name: api-liveness
  probe: { httpGet: { path: /healthz, port: ${port} }, period: 100ms }
  target: { name: api }
  actions: [{ type: restart }]
`,
    );
    const running = await startWorker(
      buildWorkerConfig({
        http: { host: '127.0.0.1', port: 0 },
        replay: { speed: 1_000_000 },
        forecast: { enabled: false },
        policies,
        logLevel: 'warn',
      }),
      pino({ level: 'warn' }, sink),
    );
    try {
      await running.finished;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const warning = lines.find((line) => line['event'] === 'probes_skipped');
      expect(warning).toMatchObject({ level: 40, policies: ['api-liveness'] });
      expect(String(warning?.['msg'])).toContain('probe policies need Kafka');
      expect(requests).toEqual([]);
      expect((await scrape(running.httpPort, 'healcast_probes_total')).size).toBe(0);
    } finally {
      await running.stop();
      await close(server);
    }
  });
});
