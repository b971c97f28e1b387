import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ActionTarget } from '../../../src/dispatch/envelope.js';
import type { Outcome } from '../../../src/execute/outcome.js';
import { LearnLoop } from '../../../src/learn/learnLoop.js';
import { createLogger } from '../../../src/observability/logger.js';
import { WorkerMetrics } from '../../../src/observability/metrics.js';
import type { BatchProcessor } from '../../../src/pipeline/batchProcessor.js';

const T0 = 1_700_000_000_000;

function outcome(overrides: Partial<Outcome> = {}): Outcome {
  return {
    schema: 'healcast.outcome/v1',
    actionId: 'a1',
    fireId: 'f1',
    policy: 'cpu',
    cooldownKey: 'cpu|deployment//web',
    target: { kind: 'deployment', name: 'web' },
    type: 'scale',
    trigger: 'predictive',
    status: 'succeeded',
    reason: 'executed',
    message: '',
    plan: { op: 'scale', fromReplicas: 2, toReplicas: 5, limitedBy: [] },
    attempts: [],
    dryRun: false,
    observedAtMs: T0,
    decidedAtMs: T0 + 100,
    startedAtMs: T0 + 200,
    finishedAtMs: T0 + 5_100,
    executor: 'e1',
    ...overrides,
  };
}

/** Records what the loop tells the core (the core's own rescaling is tested with the Processor). */
function recordingProcessor() {
  const calls: [ActionTarget, number, number, number][] = [];
  const processor: BatchProcessor = {
    process: () => Promise.reject(new Error('not used')),
    syncCooldown: () => undefined,
    replicasChanged: (target, from, to, atMs) => void calls.push([target, from, to, atMs]),
    reloadModel: () => undefined,
    close: () => Promise.resolve(),
  };
  return { processor, calls };
}

describe('LearnLoop: executed scales reach the core', () => {
  const log = createLogger({
    level: 'silent',
    destination: new Writable({ write: (_c, _e, done) => done() }),
  });

  it('passes an executed scale on, at the event time it took effect', () => {
    const loop = new LearnLoop(new WorkerMetrics(new Registry()), log, () => T0);
    const { processor, calls } = recordingProcessor();
    loop.attach(processor, undefined);
    loop.onOutcome(outcome());
    expect(calls).toEqual([[{ kind: 'deployment', name: 'web' }, 2, 5, T0 + 5_000]]);
  });

  it('ignores outcomes that changed no replica count', () => {
    const loop = new LearnLoop(new WorkerMetrics(new Registry()), log, () => T0);
    const { processor, calls } = recordingProcessor();
    loop.attach(processor, undefined);
    loop.onOutcome(outcome({ actionId: 'f', status: 'failed', reason: 'retries_exhausted' }));
    loop.onOutcome(outcome({ actionId: 'd', status: 'skipped', reason: 'dry_run', dryRun: true }));
    loop.onOutcome(
      outcome({ actionId: 'r', type: 'restart', plan: { op: 'restart', markerBefore: '3' } }),
    );
    expect(calls).toEqual([]);
  });
});
