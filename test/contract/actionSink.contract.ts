import { describe, expect, it } from 'vitest';
import type { ActionSink } from '../../src/dispatch/actionSink.js';
import {
  ACTION_SCHEMA_VERSION,
  type ActionEnvelope,
  type Fire,
} from '../../src/dispatch/envelope.js';

/** Builds a fire with `n` actions for the contract tests. */
export function makeFire(
  id: string,
  cooldownKey: string,
  observedAtMs: number,
  cooldownMs = 600_000,
  n = 1,
): Fire {
  const actions: ActionEnvelope[] = Array.from({ length: n }, (_, i) => ({
    schema: ACTION_SCHEMA_VERSION,
    actionId: `${id}.${i}`,
    fireId: id,
    actionIndex: i,
    policy: 'p',
    target: { kind: 'service', name: 'web' },
    type: 'scale',
    parameters: { replicas: '+2', max: 10 },
    scale: { mode: 'relative', replicas: 2, maxReplicas: 10 },
    trigger: 'reactive',
    evidence: {
      series: 'cpu{host="a"}',
      metric: 'cpu',
      labels: { host: 'a' },
      value: 91,
      threshold: 80,
      direction: 'above',
      breachStartMs: observedAtMs - 300_000,
      breachDurationMs: 300_000,
      baselineMean: 50,
      baselineLower: 40,
      baselineUpper: 60,
      anomalyScore: 0.99,
    },
    observedAtMs,
    decidedAtMs: observedAtMs + 5,
    cooldownMs,
  }));
  return { fireId: id, policy: 'p', cooldownKey, observedAtMs, cooldownMs, actions };
}

/**
 * The ActionSink contract, run against every implementation (in-memory in unit tests, Redis
 * in integration tests) so the fake cannot drift from the real thing. `unique` makes names
 * unique per test; `read` returns the action ids in the sink, oldest first.
 */
export function actionSinkContract(
  name: string,
  make: () => Promise<{ sink: ActionSink; read: () => Promise<string[]> }>,
): void {
  describe(`ActionSink contract: ${name}`, () => {
    it('enqueues every action of a fire, in order', async () => {
      const { sink, read } = await make();
      const [result] = await sink.enqueue([makeFire('f1', 'p|svc/a', 1_000_000, 600_000, 3)]);
      expect(result?.status).toBe('enqueued');
      expect(await read()).toEqual(['f1.0', 'f1.1', 'f1.2']);
      await sink.close();
    });

    it('drops a fire id it has seen (re-processing after a crash)', async () => {
      const { sink, read } = await make();
      await sink.enqueue([makeFire('f1', 'p|svc/a', 1_000_000)]);
      const again = await sink.enqueue([makeFire('f1', 'p|svc/a', 1_000_000)]);
      expect(again.map((r) => r.status)).toEqual(['duplicate']);
      expect(await read()).toEqual(['f1.0']);
      await sink.close();
    });

    it('refuses a new fire inside the cooldown of its (policy, target), durably', async () => {
      const { sink, read } = await make();
      await sink.enqueue([makeFire('f1', 'p|svc/a', 1_000_000)]);
      const results = await sink.enqueue([
        makeFire('f2', 'p|svc/a', 1_000_000 + 599_999),
        makeFire('f3', 'p|svc/b', 1_000_000 + 1),
        makeFire('f4', 'p|svc/a', 1_000_000 + 600_000),
      ]);
      expect(results.map((r) => r.status)).toEqual(['cooling_down', 'enqueued', 'enqueued']);
      const cooling = results[0];
      expect(cooling?.status === 'cooling_down' && cooling.lastFiredAtMs).toBe(1_000_000);
      expect(await read()).toEqual(['f1.0', 'f3.0', 'f4.0']);
      await sink.close();
    });

    it('treats a late fire (earlier event time) within the cooldown as cooling down', async () => {
      const { sink } = await make();
      await sink.enqueue([makeFire('f1', 'p|svc/a', 2_000_000)]);
      const [late] = await sink.enqueue([makeFire('f0', 'p|svc/a', 2_000_000 - 1_000)]);
      expect(late?.status).toBe('cooling_down');
      await sink.close();
    });

    it('accepts an empty batch', async () => {
      const { sink } = await make();
      expect(await sink.enqueue([])).toEqual([]);
      await sink.close();
    });
  });
}
