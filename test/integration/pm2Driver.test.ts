// Pm2Driver against real PM2 daemons: each test runs its own daemon in its own PM2_HOME
// (test/helpers/pm2.ts) with the demo app (src/demo/app/demo-app.cjs) in cluster mode, and
// checks what a user would see: PM2's process list and which pids answer over HTTP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pm2Driver, Pm2TargetSettingsSchema } from '../../src/adapters/targets/pm2Driver.js';
import type { ActionEnvelope } from '../../src/dispatch/envelope.js';
import { TargetError } from '../../src/errors.js';
import type { DriverContext } from '../../src/execute/targetDriver.js';
import { uniqueName, waitFor } from '../helpers/integration.js';
import {
  answeringPids,
  httpGet,
  startPm2Sandbox,
  type DemoApp,
  type Pm2Sandbox,
} from '../helpers/pm2.js';

let sandbox: Pm2Sandbox;
let driver: Pm2Driver;
/** Run after each test, last registered first, whatever failed. */
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
});

function ctx(
  type: ActionEnvelope['type'],
  parameters: Record<string, unknown> = {},
): DriverContext {
  const actionId = uniqueName('action');
  const envelope: ActionEnvelope = {
    schema: 'healcast.action/v1',
    actionId,
    fireId: uniqueName('fire'),
    actionIndex: 0,
    policy: 'pm2-driver-test',
    target: { kind: 'pm2', name: 'demo' },
    type,
    parameters,
    trigger: 'reactive',
    evidence: {
      series: 'latency{app="demo"}',
      metric: 'latency',
      labels: { app: 'demo' },
      value: 2,
      threshold: 1,
      direction: 'above',
      breachStartMs: 0,
      breachDurationMs: 0,
      baselineMean: null,
      baselineLower: null,
      baselineUpper: null,
      anomalyScore: 1,
    },
    observedAtMs: 0,
    decidedAtMs: 0,
    cooldownMs: 0,
  };
  return { actionId, envelope, intentAtMs: 0, attempt: 1, signal: new AbortController().signal };
}

async function startDemo(instances: number, failFile?: string): Promise<DemoApp> {
  return sandbox.startDemoApp({
    name: uniqueName('demo'),
    instances,
    ...(failFile === undefined ? {} : { failFile }),
  });
}

const settingsFor = (app: DemoApp, extra: Record<string, unknown> = {}) =>
  Pm2TargetSettingsSchema.parse({ app: app.name, ...extra });

async function pidsOf(app: DemoApp): Promise<number[]> {
  return (await sandbox.describe(app.name)).map((p) => p.pid);
}

/** Resolves with the rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

describe('Pm2Driver', () => {
  beforeEach(async () => {
    sandbox = await startPm2Sandbox();
    cleanups.push(() => sandbox.stop());
    driver = new Pm2Driver({ pm2Home: sandbox.home });
    cleanups.push(() => driver.close());
  });

  it('scales 1 → 3 (three online instances answering from three pids) and back to 1', async () => {
    const app = await startDemo(1);
    const settings = settingsFor(app);
    expect(await driver.observe(settings, ctx('scale'))).toMatchObject({
      replicas: 1,
      readyReplicas: 1,
    });

    const up = await driver.scale(settings, 3, ctx('scale'));
    expect(up.summary).toBe(`scaled pm2 app ${app.name} from 1 to 3 instances`);
    await waitFor('3 ready replicas', async () => {
      const seen = await driver.observe(settings, ctx('scale'));
      return seen.readyReplicas === 3 ? seen : undefined;
    });
    const listed = await pidsOf(app);
    expect(listed).toHaveLength(3);
    expect(new Set(listed).size).toBe(3);
    const answering = await answeringPids(app.url, 3);
    expect([...answering].sort()).toEqual([...listed].sort());

    const down = await driver.scale(settings, 1, ctx('scale'));
    expect(down.details).toMatchObject({ from: 3, to: 1, changed: true });
    const survivors = await pidsOf(app);
    expect(survivors).toHaveLength(1);
    // The newest instances go; the original one stays.
    expect(survivors[0]).toBe(listed[0]);
    expect(await driver.observe(settings, ctx('scale'))).toMatchObject({
      replicas: 1,
      readyReplicas: 1,
    });
    expect([...(await answeringPids(app.url, 2, 500))]).toEqual(survivors);
  });

  it('applying the same count again is a no-op: no process is touched', async () => {
    const app = await startDemo(1);
    const settings = settingsFor(app);
    await driver.scale(settings, 2, ctx('scale'));
    const before = await sandbox.describe(app.name);
    expect(before).toHaveLength(2);

    const again = await driver.scale(settings, 2, ctx('scale'));
    expect(again.details).toMatchObject({ from: 2, to: 2, changed: false });
    expect(await sandbox.describe(app.name)).toEqual(before);
  });

  it('a reload changes the restart marker and every pid; scaling does not change the marker', async () => {
    const app = await startDemo(2);
    const settings = settingsFor(app);
    const marker0 = (await driver.observe(settings, ctx('restart'))).restartMarker;
    expect(marker0).toBeDefined();

    await driver.scale(settings, 3, ctx('scale'));
    await driver.scale(settings, 2, ctx('scale'));
    expect((await driver.observe(settings, ctx('restart'))).restartMarker).toBe(marker0);

    const before = await pidsOf(app);
    const report = await driver.restart(settings, ctx('restart', { strategy: 'rolling' }));
    expect(report.details).toMatchObject({ mode: 'reload', rolling: true, instances: 2 });
    const after = await waitFor('2 online instances after the reload', async () => {
      const processes = await sandbox.describe(app.name);
      return processes.length === 2 && processes.every((p) => p.status === 'online')
        ? processes.map((p) => p.pid)
        : undefined;
    });
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    const marker1 = (await driver.observe(settings, ctx('restart'))).restartMarker;
    expect(marker1).not.toBe(marker0);
    const answering = await answeringPids(app.url, 2);
    expect([...answering].filter((pid) => before.includes(pid))).toEqual([]);

    // After a reload the original instances carry more restarts than new ones: scaling up
    // and back down must still not move the marker (pm2's own scale-down would, by deleting
    // the oldest instances).
    await driver.scale(settings, 4, ctx('scale'));
    expect((await driver.observe(settings, ctx('restart'))).restartMarker).toBe(marker1);
    await driver.scale(settings, 1, ctx('scale'));
    expect((await driver.observe(settings, ctx('restart'))).restartMarker).toBe(marker1);

    // A plain restart (settings or strategy) moves it as well.
    const restarted = await driver.restart(settings, ctx('restart', { strategy: 'recreate' }));
    expect(restarted.details).toMatchObject({ mode: 'restart', rolling: false });
    expect((await driver.observe(settings, ctx('restart'))).restartMarker).not.toBe(marker1);
  });

  it('a rolling reload answers every request meanwhile', async () => {
    const app = await startDemo(2);
    let answered = 0;
    const failures: string[] = [];
    let reloading = true;
    // Two clients on fresh connections, until the reload is over (bounded by the test timeout).
    const client = async (): Promise<void> => {
      while (reloading) {
        try {
          const { status } = await httpGet(`${app.url}/`);
          if (status === 200) answered += 1;
          else failures.push(`HTTP ${status}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = [client(), client()];
    try {
      await driver.restart(settingsFor(app), ctx('restart'));
    } finally {
      reloading = false;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(10);
  });

  it('an unknown app is a non-retriable error that names the app and lists the apps there', async () => {
    const app = await startDemo(1);
    const missing = Pm2TargetSettingsSchema.parse({ app: 'no-such-app' });
    for (const call of [
      () => driver.observe(missing, ctx('scale')),
      () => driver.scale(missing, 2, ctx('scale')),
      () => driver.restart(missing, ctx('restart')),
    ]) {
      const error = await rejectionOf(call());
      expect(error.retriable).toBe(false);
      expect(error.message).toContain('no-such-app');
      expect(error.message).toContain(`apps there: ${app.name}`);
    }
  });

  it('a call aborted midway fails retriable, and the next call connects afresh', async () => {
    const app = await startDemo(2);
    const settings = settingsFor(app);
    expect(await driver.observe(settings, ctx('scale'))).toMatchObject({ replicas: 2 });
    // A rolling reload of two instances waits for each successor to listen: long enough
    // for the executor's action timeout (here 100 ms) to cut it short.
    const error = await rejectionOf(
      driver.restart(settings, { ...ctx('restart'), signal: AbortSignal.timeout(100) }),
    );
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/aborted/);
    const seen = await waitFor('the app back to 2 online instances', async () => {
      const observation = await driver.observe(settings, ctx('scale'));
      return observation.readyReplicas === 2 ? observation : undefined;
    });
    expect(seen.replicas).toBe(2);
  });

  it('rollback is unsupported: supports() says so and rollback() fails for good', async () => {
    const app = await startDemo(1);
    const settings = settingsFor(app);
    expect(driver.supports(settings, 'rollback')).toBe(false);
    expect(driver.supports(settings, 'scale')).toBe(true);
    expect(driver.supports(settings, 'restart')).toBe(true);
    const error = await rejectionOf(driver.rollback(settings, ctx('rollback')));
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/no revisions/);
  });

  it('refuses to scale a fork-mode app up (duplicates would fight over the port)', async () => {
    const app = await sandbox.startDemoApp({
      name: uniqueName('fork'),
      instances: 1,
      execMode: 'fork',
    });
    const error = await rejectionOf(driver.scale(settingsFor(app), 2, ctx('scale')));
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/fork mode/);
    expect(await sandbox.describe(app.name)).toHaveLength(1);
    // Scaling to 0 would delete the app: refused too.
    expect((await rejectionOf(driver.scale(settingsFor(app), 0, ctx('scale')))).retriable).toBe(
      false,
    );
  });

  it('the demo app reports unhealthy on every instance while its fail file exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'healcast-failfile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const failFile = join(dir, 'fail');
    const app = await startDemo(2, failFile);
    const health = async (): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await httpGet(`${app.url}/healthz`)).status);
      return statuses;
    };
    expect(await health()).toEqual([200, 200, 200, 200, 200, 200]);
    writeFileSync(failFile, 'down');
    expect(await health()).toEqual([503, 503, 503, 503, 503, 503]);
    rmSync(failFile);
    expect(await health()).toEqual([200, 200, 200, 200, 200, 200]);
    const root = JSON.parse((await httpGet(`${app.url}/`)).body) as Record<string, unknown>;
    expect(root).toEqual({
      pid: expect.any(Number) as number,
      instance: expect.stringMatching(/^[01]$/) as string,
      startedAtMs: expect.any(Number) as number,
    });
  });
});

describe('Pm2Driver without a daemon', () => {
  it('a missing or vanished daemon is retriable, and the driver neither spawns one nor stays stuck', async () => {
    const home = mkdtempSync(join(tmpdir(), 'healcast-pm2-gone-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const lonely = new Pm2Driver({ pm2Home: home, rpcTimeoutMs: 2_000 });
    cleanups.push(() => lonely.close());
    const settings = Pm2TargetSettingsSchema.parse({ app: 'web' });

    const missing = await rejectionOf(lonely.observe(settings, ctx('scale')));
    expect(missing.retriable).toBe(true);
    expect(missing.message).toContain('is not running');
    expect(await socketAnswers(join(home, 'rpc.sock'))).toBe(false);

    const first = await startPm2Sandbox({ home });
    cleanups.push(() => first.stop());
    const app = await first.startDemoApp({ name: 'web', instances: 1 });
    expect(await lonely.observe(settings, ctx('scale'))).toMatchObject({ replicas: 1 });

    process.kill(first.daemonPid, 'SIGKILL');
    const gone = await rejectionOf(lonely.observe(settings, ctx('scale')));
    expect(gone.retriable).toBe(true);
    expect(gone.message).toContain(`the PM2 daemon at ${home}`);
    expect(await socketAnswers(join(home, 'rpc.sock'))).toBe(false);
    await first.stop();

    const second = await startPm2Sandbox({ home });
    cleanups.push(() => second.stop());
    await second.startDemoApp({ name: 'web', instances: 2, port: app.port });
    expect(await lonely.observe(settings, ctx('scale'))).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
    });
  });
});

/** Whether anything accepts connections on a unix socket. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
