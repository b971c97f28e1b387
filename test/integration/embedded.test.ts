import { describe, expect, it } from 'vitest';
import { MemoryActionSink } from '../../src/adapters/memory/memoryActionSink.js';
import { buildWorkerConfig } from '../../src/config/assemble.js';
import { startWorker } from '../../src/main.js';
import { silentLogger } from '../helpers/fakes.js';
import { scrape, waitFor } from '../helpers/integration.js';

describe('embedded demo (what `npm start` runs)', () => {
  it('replays the shipped NASA trace through the whole pipeline and serves metrics', async () => {
    const config = buildWorkerConfig({
      http: { host: '127.0.0.1', port: 0 },
      replay: { speed: 1_000_000 },
      logLevel: 'silent',
    });
    const running = await startWorker(config, silentLogger());
    try {
      await running.finished;
      const messages = await scrape(running.httpPort, 'healcast_messages_total');
      expect(messages.get('{outcome="ok"}')).toBe(4320);
      const actions = await scrape(running.httpPort, 'healcast_actions_total');
      // The flash crowd of 13 July 1995 drives the scale-out policy.
      expect(actions.get('{policy="web-scale-out",type="scale"}')).toBeGreaterThanOrEqual(3);
      expect(running.actionSink).toBeInstanceOf(MemoryActionSink);
      const entries = (running.actionSink as MemoryActionSink).entries;
      const reactive = entries.find(
        (a) => a.policy === 'web-scale-out' && a.trigger === 'reactive',
      );
      expect(reactive?.evidence.value).toBeGreaterThan(200);
      // With the shipped model the scale-out policy also acts ahead of breaches.
      const predictive = entries.filter((a) => a.trigger === 'predictive');
      expect(predictive.length).toBeGreaterThanOrEqual(1);
      expect(predictive[0]?.evidence.prediction?.leadTimeMs).toBe(180_000);
      // The real executor core carried them out on the simulated targets of src/demo/executor.yaml.
      const outcomes = await waitFor(
        'executor outcomes',
        async () => {
          const counts = await scrape(running.httpPort, 'healcast_executor_actions_total');
          return (counts.get('{type="scale",status="succeeded",reason="executed"}') ?? 0) >= 3
            ? counts
            : undefined;
        },
        10_000,
      );
      expect(
        outcomes.get('{type="scale",status="succeeded",reason="executed"}'),
      ).toBeGreaterThanOrEqual(3);
      const verdicts = await scrape(running.httpPort, 'healcast_action_outcomes_total');
      expect([...verdicts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
      expect((await fetch(`http://127.0.0.1:${running.httpPort}/readyz`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });
});
