import { afterAll, describe, expect, it } from 'vitest';
import { ThreadBatchProcessor } from '../../../src/adapters/thread/threadBatchProcessor.js';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { InlineBatchProcessor } from '../../../src/pipeline/batchProcessor.js';
import { toPipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { Processor, type ProcessorSettings } from '../../../src/pipeline/processor.js';
import { parsePolicies } from '../../../src/policy/load.js';
import { jsonMessage } from '../../helpers/fakes.js';

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
