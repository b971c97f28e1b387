import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryActionSink } from '../../../src/adapters/memory/memoryActionSink.js';
import { MemoryExecutorStore } from '../../../src/adapters/memory/memoryExecutorStore.js';
import {
  SimulatedDriver,
  SimulatedTargetSettingsSchema,
} from '../../../src/adapters/memory/simulatedDriver.js';
import { buildExecutorConfig } from '../../../src/config/assembleExecutor.js';
import { AllowList } from '../../../src/execute/allowList.js';
import { BreakerOpenError, type CircuitBreakers } from '../../../src/execute/circuitBreakers.js';
import { Executor } from '../../../src/execute/executor.js';
import type { Outcome } from '../../../src/execute/outcome.js';
import { createLogger } from '../../../src/observability/logger.js';
import { ExecutorMetrics } from '../../../src/observability/executorMetrics.js';
import { actionEnvelope } from '../../helpers/executor.js';

/** Breakers a test opens and closes by hand (the real ones are cockatiel's, tested on PM2). */
class ManualBreakers implements CircuitBreakers {
  private readonly open = new Set<string>();
  private readonly listeners: ((targetKey: string) => void)[] = [];
  isOpen(targetKey: string): boolean {
    return this.open.has(targetKey);
  }
  async run<T>(targetKey: string, fn: () => Promise<T>): Promise<T> {
    if (this.open.has(targetKey)) throw new BreakerOpenError(targetKey);
    return fn();
  }
  onClosed(listener: (targetKey: string) => void): void {
    this.listeners.push(listener);
  }
  close(): void {}
  setOpen(targetKey: string, open: boolean): void {
    if (open) this.open.add(targetKey);
    else {
      this.open.delete(targetKey);
      for (const listener of this.listeners) listener(targetKey);
    }
  }
}

const silent = createLogger({
  level: 'silent',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

describe('Executor: actions deferred by an open breaker', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  async function start() {
    const config = buildExecutorConfig({
      requireApproval: ['rollback'],
      guardrails: { maxActions: { count: 100, window: '1h' } },
      targets: [
        { target: { kind: 'service', name: 'web' }, simulated: { replicas: 2 } },
        { target: { kind: 'service', name: 'api' }, simulated: { replicas: 2 } },
      ],
    });
    const queue = new MemoryActionSink();
    const outcomes: Outcome[] = [];
    const breakers = new ManualBreakers();
    const executor = new Executor({
      store: new MemoryExecutorStore(queue, (o) => outcomes.push(o)),
      targets: new AllowList(
        config.targets,
        { guardrails: config.guardrails, requireApproval: config.requireApproval },
        {
          simulated: {
            driver: new SimulatedDriver(),
            settingsSchema: SimulatedTargetSettingsSchema,
          },
        },
      ),
      breakers,
      settings: {
        dryRun: false,
        killSwitch: undefined,
        maxAttempts: 1,
        initialBackoffMs: 1,
        maxBackoffMs: 1,
        visibilityTimeoutMs: 5_000,
        actionTimeoutMs: 5_000,
        maxActionAgeMs: 600_000,
        batchSize: 10,
        blockMs: 20,
      },
      metrics: new ExecutorMetrics(new Registry()),
      log: silent,
      nowMs: () => Date.now(),
      random: () => 0.5,
    });
    await executor.start();
    stop = () => executor.stop();
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      if (!ok()) throw new Error(`timed out waiting for ${what}`);
    };
    return { queue, outcomes, breakers, until };
  }

  it('goes back on the queue when the breaker closes and runs; an approval-gated one stays', async () => {
    const { queue, outcomes, breakers, until } = await start();
    breakers.setOpen('service//web', true);
    const scale = actionEnvelope({ target: { kind: 'service', name: 'web' } });
    const restart = actionEnvelope({
      target: { kind: 'service', name: 'web' },
      type: 'restart',
      parameters: {},
    });
    queue.requeue(scale);
    queue.requeue(restart);
    await until('two deferrals', () => outcomes.length === 2);
    expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
      ['deferred', 'breaker_open'],
      ['deferred', 'breaker_open'],
    ]);

    breakers.setOpen('service//web', false);
    await until('both resumed', () => outcomes.length === 4);
    expect(outcomes.slice(2).map((o) => [o.actionId, o.status])).toEqual([
      [scale.actionId, 'succeeded'],
      [restart.actionId, 'succeeded'],
    ]);
    expect(outcomes[2]?.approvedBy).toBe('healcast (circuit breaker of service//web closed)');
    // Closing again resumes nothing more: both are done.
    breakers.setOpen('service//web', false);
    await new Promise((r) => setTimeout(r, 60));
    expect(outcomes).toHaveLength(4);
  });

  it('resumes only the actions of the target whose breaker closed', async () => {
    const { queue, outcomes, breakers, until } = await start();
    breakers.setOpen('service//web', true);
    breakers.setOpen('service//api', true);
    const web = actionEnvelope({ target: { kind: 'service', name: 'web' } });
    const api = actionEnvelope({ target: { kind: 'service', name: 'api' } });
    queue.requeue(web);
    queue.requeue(api);
    await until('two deferrals', () => outcomes.length === 2);
    breakers.setOpen('service//api', false);
    await until('api resumed', () => outcomes.length === 3);
    await new Promise((r) => setTimeout(r, 60));
    expect(outcomes.slice(2).map((o) => [o.actionId, o.status])).toEqual([
      [api.actionId, 'succeeded'],
    ]);
  });
});
