import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  WebhookDriver,
  WebhookTargetSettingsSchema,
  type WebhookRequestBody,
} from '../../src/adapters/targets/webhookDriver.js';
import { verifyWebhookSignature } from '../../src/adapters/targets/webhookSignature.js';
import { HealcastError } from '../../src/errors.js';
import { driverContext as ctx, driverEnvelope, targetFailure } from '../helpers/targetDriverKit.js';

const SECRET = 'whsec_integration';
const SECRET_ENV = 'HEALCAST_TEST_HOOK_SECRET';
const ENV = { [SECRET_ENV]: SECRET };

/** One request as the receiver saw it, with its signature checked on the raw bytes. */
interface Received {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: WebhookRequestBody;
  readonly verification: ReturnType<typeof verifyWebhookSignature>;
}

type Handler = (res: ServerResponse, received: Received) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A real local receiver that verifies each request the way a user's receiver would. */
async function receiver(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const one: Received = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: JSON.parse(raw.toString('utf8')) as WebhookRequestBody,
        verification: verifyWebhookSignature(
          SECRET,
          raw,
          req.headers['x-healcast-timestamp'] as string | undefined,
          req.headers['x-healcast-signature'] as string | undefined,
          Date.now(),
          300_000,
        ),
      };
      received.push(one);
      handler(res, one);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/heal?token=in-the-query`, received };
}

function answer(status: number, body = '', headers: Record<string, string> = {}): Handler {
  return (res) => res.writeHead(status, headers).end(body);
}

function settings(url: string, extra: Record<string, unknown> = {}) {
  return WebhookTargetSettingsSchema.parse({ url, secretEnv: SECRET_ENV, ...extra });
}

function envelope(type: Parameters<typeof driverEnvelope>[0] = 'scale') {
  return driverEnvelope(type, {
    target: { kind: 'service', name: 'web', namespace: 'shop' },
  });
}

describe('WebhookDriver against a real HTTP receiver', () => {
  it('POSTs a signed scale with the absolute count and the idempotency key', async () => {
    const hook = await receiver(answer(202, 'queued'));
    const driver = new WebhookDriver({ env: ENV });
    const action = envelope('scale');
    const report = await driver.scale(
      settings(hook.url, { headers: { 'X-Route': 'blue' } }),
      7,
      ctx(action),
    );

    expect(hook.received).toHaveLength(1);
    const [got] = hook.received;
    expect(got?.method).toBe('POST');
    expect(got?.path).toBe('/hooks/heal?token=in-the-query');
    expect(got?.verification).toEqual({ ok: true });
    expect(got?.headers['idempotency-key']).toBe(action.actionId);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-route']).toBe('blue');
    expect(Number(got?.headers['x-healcast-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(got?.body).toEqual({ operation: { type: 'scale', replicas: 7 }, action });
    expect(report.summary).toContain('HTTP 202');
    expect(report.summary).toContain('scale to 7 replicas');
    // Webhook URLs often carry tokens: only the origin may reach logs and outcome records.
    expect(report.summary).not.toContain('token');
    expect(report.details).toMatchObject({ status: 202, body: 'queued' });
  });

  it('sends restart and rollback without a replica count', async () => {
    const hook = await receiver(answer(200));
    const driver = new WebhookDriver({ env: ENV });
    await driver.restart(settings(hook.url), ctx(envelope('restart')));
    await driver.rollback(settings(hook.url), ctx(envelope('rollback')));
    expect(hook.received.map((r) => r.body.operation)).toEqual([
      { type: 'restart' },
      { type: 'rollback' },
    ]);
    expect(hook.received.every((r) => r.verification.ok)).toBe(true);
  });

  it('a receiver with another secret refuses the signature', async () => {
    const hook = await receiver(answer(200));
    const driver = new WebhookDriver({ env: { [SECRET_ENV]: 'not-the-receivers-secret' } });
    await driver.restart(settings(hook.url), ctx(envelope('restart')));
    expect(hook.received[0]?.verification).toEqual({ ok: false, reason: 'mismatch' });
  });

  const statuses: { status: number; retriable: boolean }[] = [
    { status: 500, retriable: true },
    { status: 503, retriable: true },
    { status: 429, retriable: true },
    { status: 408, retriable: true },
    { status: 400, retriable: false },
    { status: 401, retriable: false },
    { status: 404, retriable: false },
  ];
  for (const { status, retriable } of statuses) {
    it(`HTTP ${status} is ${retriable ? '' : 'not '}retriable, with the body in the message`, async () => {
      const hook = await receiver(answer(status, `{"error":"because ${status}"}`));
      const { error } = await targetFailure(() =>
        new WebhookDriver({ env: ENV }).restart(settings(hook.url), ctx(envelope('restart'))),
      );
      expect(error.retriable).toBe(retriable);
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain(`because ${status}`);
    });
  }

  it('keeps only the first KiB of a large response body', async () => {
    const hook = await receiver(answer(500, 'x'.repeat(100_000)));
    const { error } = await targetFailure(() =>
      new WebhookDriver({ env: ENV }).restart(settings(hook.url), ctx(envelope('restart'))),
    );
    expect(error.message).toContain('x'.repeat(1024));
    expect(error.message).not.toContain('x'.repeat(1025));
  });

  it('does not follow a redirect (not retriable, says where it pointed)', async () => {
    const hook = await receiver((res, got) =>
      got.path?.startsWith('/elsewhere') === true
        ? res.writeHead(200).end()
        : res.writeHead(307, { Location: '/elsewhere' }).end(),
    );
    const { error } = await targetFailure(() =>
      new WebhookDriver({ env: ENV }).restart(settings(hook.url), ctx(envelope('restart'))),
    );
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('HTTP 307 to /elsewhere');
    expect(hook.received).toHaveLength(1);
  });

  it('a receiver that never answers times out within the configured timeout, retriable', async () => {
    const hook = await receiver(() => undefined);
    const { error, elapsedMs } = await targetFailure(() =>
      new WebhookDriver({ env: ENV }).restart(
        settings(hook.url, { timeout: '300ms' }),
        ctx(envelope('restart')),
      ),
    );
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('did not answer restart within 300ms');
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it("stops when the executor's signal aborts, retriable", async () => {
    const hook = await receiver(() => undefined);
    const abort = new AbortController();
    const call = new WebhookDriver({ env: ENV }).restart(
      settings(hook.url, { timeout: '30s' }),
      ctx(envelope('restart'), abort.signal),
    );
    setTimeout(() => abort.abort(new Error('action timeout')), 100);
    const { error } = await targetFailure(() => call);
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('aborted by the executor');
  });

  it('a refused connection is retriable', async () => {
    const hook = await receiver(answer(200));
    const url = hook.url;
    for (const server of servers.splice(0)) {
      await new Promise((resolve) => server.close(resolve));
    }
    const { error } = await targetFailure(() =>
      new WebhookDriver({ env: ENV }).restart(settings(url), ctx(envelope('restart'))),
    );
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('refuses an action type the target does not accept, without calling it', async () => {
    const hook = await receiver(answer(200));
    const driver = new WebhookDriver({ env: ENV });
    const only = settings(hook.url, { actions: ['scale'] });
    expect(driver.supports(only, 'scale')).toBe(true);
    expect(driver.supports(only, 'rollback')).toBe(false);
    const { error } = await targetFailure(() => driver.rollback(only, ctx(envelope('rollback'))));
    expect(error.retriable).toBe(false);
    expect(hook.received).toHaveLength(0);
  });

  it('observes nothing: a webhook cannot be observed', async () => {
    const hook = await receiver(answer(200));
    const observed = await new WebhookDriver({ env: ENV }).observe(
      settings(hook.url),
      ctx(envelope()),
    );
    expect(observed).toEqual({});
    expect(hook.received).toHaveLength(0);
  });

  for (const [name, env] of [
    ['missing', {}],
    ['empty', { [SECRET_ENV]: '' }],
  ] as const) {
    it(`a ${name} secret fails prepare() with a config error naming the variable`, async () => {
      const hook = await receiver(answer(200));
      const driver = new WebhookDriver({ env });
      const target = settings(hook.url);
      let thrown: unknown;
      try {
        driver.prepare(target);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(HealcastError);
      expect(thrown).toMatchObject({ code: 'CONFIG_INVALID', retriable: false });
      expect((thrown as Error).message).toContain(SECRET_ENV);
      await expect(driver.restart(target, ctx(envelope('restart')))).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      expect(hook.received).toHaveLength(0);
    });
  }
});
