// The executor against real parts: a real Redis server (the actions stream, its consumer group,
// the outcomes / dead-letter / escalation streams) and real PM2 daemons running the demo app.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisExecutorAdmin } from '../../src/adapters/redis/redisExecutorAdmin.js';
import { actionEnvelope, ExecutorTestbed, scriptFile } from '../helpers/executor.js';
import { scrape, uniqueName, waitFor } from '../helpers/integration.js';
import { answeringPids, startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2.js';
import { serviceEnv } from '../setup/env.js';

const { redisUrl } = serviceEnv();

describe('healcast executor (real Redis, real PM2)', () => {
  let bed: ExecutorTestbed;
  let pm2: Pm2Sandbox;

  beforeEach(async () => {
    bed = new ExecutorTestbed(redisUrl);
    await bed.connect();
    pm2 = await startPm2Sandbox();
  });

  afterEach(async () => {
    await bed.close();
    await pm2.stop();
  });

  function pm2Target(app: string, extra: Record<string, unknown> = {}) {
    return { target: { kind: 'service', name: app }, pm2: { app }, ...extra };
  }

  it('scales a PM2 app 1 → 3 within the bounds, and back to 1 stepwise', async () => {
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 1 });
    const config = bed.config({
      pm2: { home: pm2.home },
      guardrails: { maxReplicas: 3, maxStepDown: 2, scaleDownStabilization: 0 },
      targets: [pm2Target(app.name)],
    });
    await bed.startExecutor(config);
    // +5 asked, +2 allowed: the executor's maxReplicas 3 wins over the policy's 10.
    const up = actionEnvelope({
      target: { kind: 'service', name: app.name },
      parameters: { replicas: '+5', max: 10 },
      scale: { mode: 'relative', replicas: 5, maxReplicas: 10 },
    });
    await bed.enqueue(up);
    const upOutcome = await bed.outcomeOf(up.actionId);
    expect(upOutcome).toMatchObject({
      status: 'succeeded',
      reason: 'executed',
      plan: { op: 'scale', fromReplicas: 1, toReplicas: 3, limitedBy: ['maxReplicas 3'] },
    });
    expect((await pm2.describe(app.name)).filter((p) => p.status === 'online')).toHaveLength(3);
    expect((await answeringPids(app.url, 3)).size).toBe(3);

    const down = actionEnvelope({
      target: { kind: 'service', name: app.name },
      parameters: { replicas: 1 },
      scale: { mode: 'absolute', replicas: 1 },
    });
    await bed.enqueue(down);
    expect(await bed.outcomeOf(down.actionId)).toMatchObject({
      status: 'succeeded',
      plan: { fromReplicas: 3, toReplicas: 1 },
    });
    expect(await pm2.describe(app.name)).toHaveLength(1);
    expect(await bed.pendingCount()).toBe(0);
  });

  it('restarts a PM2 app once', async () => {
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 2 });
    await bed.startExecutor(
      bed.config({ pm2: { home: pm2.home }, targets: [pm2Target(app.name)] }),
    );
    const before = await pm2.describe(app.name);
    const restart = actionEnvelope({
      target: { kind: 'service', name: app.name },
      type: 'restart',
      parameters: {},
    });
    delete (restart as { scale?: unknown }).scale;
    await bed.enqueue(restart);
    expect(await bed.outcomeOf(restart.actionId)).toMatchObject({
      status: 'succeeded',
      reason: 'executed',
    });
    const after = await pm2.describe(app.name);
    expect(after.map((p) => p.restartTime)).toEqual(before.map((p) => p.restartTime + 1));
    expect(after.map((p) => p.pid)).not.toEqual(before.map((p) => p.pid));
  });

  it('kill -9 between acting and recording: the restarted executor completes each action once, never twice', async () => {
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 1 });
    const config = bed.config({
      pm2: { home: pm2.home },
      guardrails: { maxReplicas: 10 },
      visibilityTimeout: '1s',
      targets: [pm2Target(app.name)],
    });
    const scale = actionEnvelope({ target: { kind: 'service', name: app.name } });
    const restart = actionEnvelope({
      target: { kind: 'service', name: app.name },
      type: 'restart',
      parameters: {},
    });
    delete (restart as { scale?: unknown }).scale;

    // First executor: dies with SIGKILL right after PM2 scaled (outcome not yet recorded).
    const first = bed.spawnExecutor(config, { HEALCAST_TEST_EXECUTOR_CRASH: 'after_effect' });
    await bed.enqueue(scale);
    const code = await new Promise<string | null>((resolve) =>
      first.once('exit', (_c, signal) => resolve(signal)),
    );
    expect(code).toBe('SIGKILL');
    expect(await pm2.describe(app.name)).toHaveLength(3);
    expect(await bed.outcomes()).toEqual([]);
    expect(await bed.pendingCount()).toBe(1);

    // Same for a restart.
    const second = bed.spawnExecutor(config, { HEALCAST_TEST_EXECUTOR_CRASH: 'after_effect' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The pending scale is resumed first (and crashes again after re-applying 3): still 3.
    await new Promise<void>((resolve) => second.once('exit', () => resolve()));
    expect(await pm2.describe(app.name)).toHaveLength(3);

    // Now a healthy executor with the same name: resumes, re-applies the same absolute count.
    const third = bed.spawnExecutor(config);
    const scaled = await bed.outcomeOf(scale.actionId);
    expect(scaled).toMatchObject({ status: 'succeeded', plan: { fromReplicas: 1, toReplicas: 3 } });
    expect(await pm2.describe(app.name)).toHaveLength(3);

    // Restart: crash after the reload, then resume → seen as already done, not restarted again.
    third.kill('SIGKILL');
    await new Promise<void>((resolve) => third.once('exit', () => resolve()));
    const restartsBefore = Math.max(...(await pm2.describe(app.name)).map((p) => p.restartTime));
    const fourth = bed.spawnExecutor(config, { HEALCAST_TEST_EXECUTOR_CRASH: 'after_effect' });
    await bed.enqueue(restart);
    await new Promise<void>((resolve) => fourth.once('exit', () => resolve()));
    bed.spawnExecutor(config);
    const restarted = await bed.outcomeOf(restart.actionId);
    expect(restarted).toMatchObject({ status: 'succeeded', reason: 'already_done' });
    const restartsAfter = Math.max(...(await pm2.describe(app.name)).map((p) => p.restartTime));
    expect(restartsAfter).toBe(restartsBefore + 1);
    expect((await bed.outcomes()).map((o) => o.actionId).sort()).toEqual(
      [scale.actionId, restart.actionId].sort(),
    );
    await waitFor(
      'stream drained',
      async () => ((await bed.pendingCount()) === 0 ? true : undefined),
      10_000,
    );
  });

  it('a failing target opens its breaker, actions go to escalation, a half-open probe closes it and the deferred action runs', async () => {
    // A PM2 home with no daemon yet: every call fails (retriable) until one is started there.
    const home = mkdtempSync(join(tmpdir(), 'healcast-pm2-down-'));
    const appName = uniqueName('web');
    const config = bed.config({
      pm2: { home },
      retry: { maxAttempts: 1, initialBackoff: '10ms', maxBackoff: '10ms' },
      breaker: { failureThreshold: 2, halfOpenAfter: '1s' },
      targets: [pm2Target(appName)],
    });
    const running = await bed.startExecutor(config);
    const target = { kind: 'service', name: appName };
    const failing = [actionEnvelope({ target }), actionEnvelope({ target })];
    for (const envelope of failing) {
      await bed.enqueue(envelope);
      expect(await bed.outcomeOf(envelope.actionId)).toMatchObject({
        status: 'failed',
        reason: 'retries_exhausted',
      });
    }
    const deferred = actionEnvelope({ target });
    await bed.enqueue(deferred);
    expect(await bed.outcomeOf(deferred.actionId)).toMatchObject({
      status: 'deferred',
      reason: 'breaker_open',
    });
    const escalations = await bed.stream(bed.keys.escalationStream);
    expect(escalations).toEqual([
      expect.objectContaining({
        event: 'deferred',
        actionId: deferred.actionId,
        reason: 'breaker_open',
      }),
    ]);
    const dead = await bed.stream(bed.keys.actionsDeadLetterStream);
    expect(dead.map((d) => d['actionId'])).toEqual(failing.map((f) => f.actionId));
    expect(JSON.parse(dead[0]?.['attempts'] ?? '[]')).toHaveLength(1);
    const open = await scrape(running.httpPort, 'healcast_executor_breaker_state');
    expect([...open.values()]).toEqual([2]);

    // The target comes back: the next half-open probe closes the breaker.
    const revived = await startPm2Sandbox({ home });
    try {
      await revived.startDemoApp({ name: appName, instances: 1 });
      await waitFor(
        'breaker closed',
        async () => {
          const state = await scrape(running.httpPort, 'healcast_executor_breaker_state');
          return [...state.values()][0] === 0 ? true : undefined;
        },
        15_000,
      );
      // The action the open breaker deferred goes back on the stream by itself and runs.
      expect(await bed.outcomeOf(deferred.actionId, 'succeeded')).toMatchObject({
        approvedBy: `healcast (circuit breaker of service//${appName} closed)`,
      });
      expect(await bed.stream(bed.keys.escalationStream)).toContainEqual(
        expect.objectContaining({ event: 'approved', actionId: deferred.actionId }),
      );
      expect(await scrape(running.httpPort, 'healcast_executor_breaker_resumed_total')).toEqual(
        new Map([[`{target="service//${appName}"}`, 1]]),
      );
      const later = actionEnvelope({ target });
      await bed.enqueue(later);
      expect(await bed.outcomeOf(later.actionId)).toMatchObject({ status: 'succeeded' });
    } finally {
      await revived.stop();
    }
  });

  it('the kill switch stops all actions; dry-run changes nothing; unknown targets are refused and recorded', async () => {
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 1 });
    const dry = await bed.startExecutor(
      bed.config({ pm2: { home: pm2.home }, dryRun: true, targets: [pm2Target(app.name)] }),
    );
    const planned = actionEnvelope({ target: { kind: 'service', name: app.name } });
    await bed.enqueue(planned);
    expect(await bed.outcomeOf(planned.actionId)).toMatchObject({
      status: 'skipped',
      reason: 'dry_run',
      dryRun: true,
      plan: { op: 'scale', fromReplicas: 1, toReplicas: 3 },
      message: expect.stringContaining('would scale') as unknown,
    });
    expect(await pm2.describe(app.name)).toHaveLength(1);
    await dry.stop();

    await bed.startExecutor(
      bed.config({ pm2: { home: pm2.home }, targets: [pm2Target(app.name)] }),
    );
    const admin = new RedisExecutorAdmin(redisUrl, bed.keys, 3_600_000);
    await admin.connect();
    try {
      await admin.setKillSwitch(true, 'test', 'incident', Date.now());
      const stopped = actionEnvelope({ target: { kind: 'service', name: app.name } });
      await bed.enqueue(stopped);
      expect(await bed.outcomeOf(stopped.actionId)).toMatchObject({
        status: 'skipped',
        reason: 'kill_switch',
      });
      expect(await pm2.describe(app.name)).toHaveLength(1);
      await admin.setKillSwitch(false, 'test', 'over', Date.now());
    } finally {
      await admin.close();
    }

    const stranger = actionEnvelope({ target: { kind: 'service', name: 'not-listed' } });
    await bed.enqueue(stranger);
    expect(await bed.outcomeOf(stranger.actionId)).toMatchObject({
      status: 'skipped',
      reason: 'target_not_allowed',
    });
    const allowed = actionEnvelope({ target: { kind: 'service', name: app.name } });
    await bed.enqueue(allowed);
    expect(await bed.outcomeOf(allowed.actionId)).toMatchObject({ status: 'succeeded' });
    expect(await pm2.describe(app.name)).toHaveLength(3);
  });

  it('the env kill switch holds too, and an invalid entry is dead-lettered with its reason', async () => {
    const app = await pm2.startDemoApp({ name: uniqueName('web'), instances: 1 });
    await bed.startExecutor(
      bed.config({ pm2: { home: pm2.home }, killSwitch: true, targets: [pm2Target(app.name)] }),
    );
    const blocked = actionEnvelope({ target: { kind: 'service', name: app.name } });
    await bed.enqueue(blocked);
    expect(await bed.outcomeOf(blocked.actionId)).toMatchObject({
      status: 'skipped',
      reason: 'kill_switch',
    });
    await bed.redis.xadd(
      bed.keys.actionsStream,
      '*',
      'actionId',
      'x',
      'envelope',
      '{"schema":"nope"}',
    );
    const dead = await waitFor(
      'dead letter',
      async () => (await bed.stream(bed.keys.actionsDeadLetterStream))[0],
    );
    expect(dead).toMatchObject({ reason: 'invalid_action' });
    expect(dead['message']).toContain('envelope invalid at schema');
    await waitFor(
      'acked',
      async () => ((await bed.pendingCount()) === 0 ? true : undefined),
      5_000,
    );
  });

  it('two executor instances and repeated deliveries: every action is executed exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'healcast-cmd-'));
    const log = join(dir, 'calls.log');
    const script = scriptFile(
      dir,
      'restart.sh',
      `#!/bin/sh\necho "$HEALCAST_ACTION_ID" >> ${log}\n`,
    );
    const config = (name: string) =>
      bed.config({
        consumer: { name },
        visibilityTimeout: '1s',
        guardrails: { maxActions: { count: 1000, window: '1h' } },
        targets: [
          {
            target: { kind: 'service', name: 'worker-pool' },
            command: { executable: script, args: [], actions: ['restart'] },
          },
        ],
      });
    await bed.startExecutor(config(uniqueName('exec-a')));
    await bed.startExecutor(config(uniqueName('exec-b')));
    const actions = Array.from({ length: 30 }, () => {
      const action = actionEnvelope({
        target: { kind: 'service', name: 'worker-pool' },
        type: 'restart',
        parameters: {},
      });
      delete (action as { scale?: unknown }).scale;
      return action;
    });
    await bed.enqueue(...actions);
    // The same ids delivered again, as a worker re-processing a batch or a replay would.
    for (const action of actions.slice(0, 10)) {
      await bed.redis.xadd(
        bed.keys.actionsStream,
        '*',
        'actionId',
        action.actionId,
        'envelope',
        JSON.stringify(action),
      );
    }
    await waitFor(
      'all acknowledged',
      async () =>
        (await bed.pendingCount()) === 0 && (await bed.outcomes()).length >= 30 ? true : undefined,
      30_000,
    );
    const outcomes = await bed.outcomes();
    expect(outcomes.map((o) => o.actionId).sort()).toEqual(actions.map((a) => a.actionId).sort());
    expect(new Set(outcomes.map((o) => o.executor)).size).toBe(2);
    const { readFileSync } = await import('node:fs');
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.sort()).toEqual(actions.map((a) => a.actionId).sort());
  });

  it('rollback waits for a human: approve runs it, reject records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'healcast-cmd-'));
    const log = join(dir, 'calls.log');
    const script = scriptFile(
      dir,
      'rollback.sh',
      `#!/bin/sh\necho "$HEALCAST_ACTION_ID $1" >> ${log}\n`,
    );
    await bed.startExecutor(
      bed.config({
        targets: [
          {
            target: { kind: 'deployment', name: 'checkout', namespace: 'shop' },
            command: { executable: script, args: ['{{target.name}}'], actions: ['rollback'] },
          },
        ],
      }),
    );
    const target = { kind: 'deployment', name: 'checkout', namespace: 'shop' };
    const approveMe = actionEnvelope({ target, type: 'rollback', parameters: {} });
    const rejectMe = actionEnvelope({ target, type: 'rollback', parameters: {} });
    delete (approveMe as { scale?: unknown }).scale;
    delete (rejectMe as { scale?: unknown }).scale;
    await bed.enqueue(approveMe, rejectMe);
    expect(await bed.outcomeOf(approveMe.actionId)).toMatchObject({
      status: 'deferred',
      reason: 'awaiting_approval',
    });
    await bed.outcomeOf(rejectMe.actionId);
    const admin = new RedisExecutorAdmin(redisUrl, bed.keys, 3_600_000);
    await admin.connect();
    try {
      expect((await admin.pending()).map((p) => p.actionId).sort()).toEqual(
        [approveMe.actionId, rejectMe.actionId].sort(),
      );
      await admin.decide(approveMe.actionId, 'approved', 'ana', 'checked the graphs', Date.now());
      await admin.decide(rejectMe.actionId, 'rejected', 'ana', 'false alarm', Date.now());
      await expect(
        admin.decide(rejectMe.actionId, 'approved', 'bob', '', Date.now()),
      ).rejects.toThrow(/already rejected/);
      expect(await bed.outcomeOf(approveMe.actionId, 'succeeded')).toMatchObject({
        approvedBy: 'ana',
      });
      expect(await bed.outcomeOf(rejectMe.actionId, 'skipped')).toMatchObject({
        reason: 'rejected',
      });
      expect(await admin.pending()).toEqual([]);
    } finally {
      await admin.close();
    }
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      `${approveMe.actionId} checkout`,
    ]);
  });
});
