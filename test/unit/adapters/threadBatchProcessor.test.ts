import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promote } from '../../../src/adapters/fsModelRegistry.js';
import { ThreadBatchProcessor } from '../../../src/adapters/thread/threadBatchProcessor.js';
import { initTfjs } from '../../../src/adapters/tfjs/backend.js';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import { ForecastConfigSchema } from '../../../src/config/workerConfig.js';
import type { ActionTarget } from '../../../src/dispatch/envelope.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { InlineBatchProcessor } from '../../../src/pipeline/batchProcessor.js';
import { toPipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { Processor, type ProcessorSettings } from '../../../src/pipeline/processor.js';
import { parsePolicies } from '../../../src/policy/load.js';
import { jsonMessage } from '../../helpers/fakes.js';
import { saveTinyVersion, temporaryDirectory } from './tfjs/helpers.js';

const T0 = 1_700_000_000_000;
const policies = parsePolicies(
  `
- name: hot
  trigger: { metric: cpu, threshold: 80, duration: 1m, selector: { env: { regex: 'pr.*' } } }
  target: { kind: deployment, name: '{{app}}' }
  actions: [{ type: scale, parameters: { replicas: '+1', max: 5 } }]
  cooldown: 5m
`,
  'inline.yaml',
);
const settings: ProcessorSettings = {
  baseline: BaselineConfigSchema.parse({ warmupSamples: 2 }),
  maxSeries: 1000,
  format: 'auto',
  limits: DEFAULT_DECODE_LIMITS,
};

function batch(fromMinute: number): SourceRecord[] {
  const records: SourceRecord[] = [];
  for (let m = fromMinute; m < fromMinute + 10; m++) {
    for (const app of ['web', 'api']) {
      const value = app === 'web' && m >= 5 ? 95 : 40 + m;
      records.push({
        topic: 't',
        partition: 0,
        offset: String(records.length),
        key: null,
        value: jsonMessage('cpu', { env: 'prod', app }, T0 + m * 60_000, value),
        timestampMs: 0,
      });
    }
  }
  records.push({
    topic: 't',
    partition: 0,
    offset: 'x',
    key: null,
    value: Buffer.from('oops'),
    timestampMs: 0,
  });
  records.push({ topic: 't', partition: 0, offset: 'y', key: null, value: null, timestampMs: 0 });
  return records;
}

describe('ThreadBatchProcessor', () => {
  let threaded: ThreadBatchProcessor | undefined;
  afterAll(async () => {
    await threaded?.close();
  });

  it('gives exactly what the inline core gives, batch after batch, across a thread', async () => {
    threaded = await ThreadBatchProcessor.start({ policies, settings });
    const inline = new InlineBatchProcessor(
      new Processor({ ...settings, policies: policies.map(toPipelinePolicy) }),
    );
    const now = T0 + 86_400_000;
    for (const from of [0, 10, 20]) {
      const [a, b] = await Promise.all([
        threaded.process(batch(from), now),
        inline.process(batch(from), now),
      ]);
      expect(a).toEqual(b);
    }
    const last = await threaded.process(batch(30), now);
    expect(last.liveSeries).toBe(2);
    expect(last.deadLetters.map((d) => [d.index, d.reason])).toEqual([
      [20, 'invalid_line_protocol'],
      [21, 'empty_message'],
    ]);
  });

  it('applies a cooldown sync before the batches submitted after it', async () => {
    const processor = await ThreadBatchProcessor.start({ policies, settings });
    try {
      const now = T0 + 86_400_000;
      // The durable cooldown says "hot" fired for web at minute 5: the breach from minute 5
      // (fire due at minute 6) stays quiet until minute 10.
      processor.syncCooldown('hot', 'hot|deployment//web', T0 + 5 * 60_000);
      const { fires } = await processor.process(batch(0), now);
      expect(fires).toEqual([]);
      const next = await processor.process(batch(10), now);
      expect(next.fires.map((f) => (f.observedAtMs - T0) / 60_000)).toEqual([10, 15]);
    } finally {
      await processor.close();
    }
  });
});

describe('ThreadBatchProcessor: replicasChanged', () => {
  // A proportional policy: its metric is per replica, so when deployment web scales the
  // series' forecast history must be re-expressed in the new replica count, in the thread.
  const perReplica = parsePolicies(
    `
- name: size-web
  trigger: { metric: cpu, threshold: 80, duration: 2m, selector: { app: web } }
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 5m
`,
    'replicas.yaml',
  );
  const WEB = 'cpu{app="web"}';
  const MIN = 60_000;
  // The thread forecasts (and so keeps histories) only with a model: a tiny one, promoted in a
  // temporary registry, with an 8-step window the test can read whole.
  const VERSION = '2026-01-01T00-00-00Z';
  let registry: { dir: string; remove: () => Promise<void> };
  beforeAll(async () => {
    const { tf } = await initTfjs();
    registry = await temporaryDirectory();
    await saveTinyVersion(tf, registry.dir, VERSION, 1);
    await promote(registry.dir, VERSION);
  });
  afterAll(async () => {
    await registry.remove();
  });

  /** cpu{app=web} once a minute over [from, to), at `valueAt(minute)` % per replica. */
  function minutes(from: number, to: number, valueAt: (minute: number) => number): SourceRecord[] {
    const records: SourceRecord[] = [];
    for (let m = from; m < to; m++) {
      records.push({
        topic: 't',
        partition: 0,
        offset: String(m),
        key: null,
        value: jsonMessage('cpu', { app: 'web' }, T0 + m * MIN, valueAt(m)),
        timestampMs: 0,
      });
    }
    return records;
  }

  /** The forecast history of cpu{app=web} as the thread reported it with a batch. */
  function history(batch: Awaited<ReturnType<ThreadBatchProcessor['process']>>): number[] {
    const view = batch.forecast?.views.find((v) => v.series === WEB);
    return (view?.actuals.values ?? []).map((v) => Math.round(v * 100) / 100);
  }

  it('re-expresses the history in the thread, after the batch before it and before the one after', async () => {
    const processor = await ThreadBatchProcessor.start({
      policies: perReplica,
      settings,
      forecast: {
        settings: ForecastConfigSchema.parse({ series: [WEB], topK: 0 }),
        modelsRoot: registry.dir,
      },
    });
    try {
      const now = T0 + 86_400_000;
      const web: ActionTarget = { kind: 'deployment', name: 'web' };
      // 4 replicas at 60 % through minute 7; scaled to 6 at minute 7.5, so 40 % from minute 8.
      // The news comes late (after minute 9 was read): only values up to 7.5 are re-expressed.
      // Nothing is awaited between the calls: the thread must apply them in submission order.
      const first = processor.process(
        minutes(0, 10, (m) => (m < 8 ? 60 : 40)),
        now,
      );
      processor.replicasChanged(web, 4, 6, T0 + 7.5 * MIN);
      // Another target scaling leaves web's series alone (it would double it).
      processor.replicasChanged({ kind: 'deployment', name: 'other' }, 6, 3, T0 + 7.5 * MIN);
      const second = processor.process(
        minutes(10, 12, () => 40),
        now,
      );
      const [before, after] = await Promise.all([first, second]);
      expect(before.model).toMatchObject({ version: VERSION, error: null });
      // Minutes 2..9, as read: the change had not reached the thread yet.
      expect(history(before)).toEqual([60, 60, 60, 60, 60, 60, 40, 40]);
      // Minutes 4..11: 4/6 of 60 is 40, so one unit throughout; 8..11 untouched.
      expect(history(after)).toEqual(Array(8).fill(40));
    } finally {
      await processor.close();
    }
  });
});
