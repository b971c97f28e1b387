import { describe, expect, it } from 'vitest';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import { ActionEnvelopeSchema } from '../../../src/dispatch/envelope.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { toPipelinePolicy, type PipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { Processor } from '../../../src/pipeline/processor.js';
import { parsePolicies } from '../../../src/policy/load.js';
import { jsonMessage } from '../../helpers/fakes.js';

const T0 = 1_700_000_000_000;
const NOW = T0 + 86_400_000;
const MIN = 60_000;

const POLICIES = `
policies:
  - name: cpu-high
    trigger: { metric: cpu, threshold: 80, duration: 2m, selector: { env: prod } }
    target: { kind: deployment, name: '{{app}}' }
    actions:
      - type: scale
        parameters: { replicas: '+2', max: 10 }
      - type: restart
    cooldown: 10m
`;

function processor(
  maxSeries = 100,
  policies: PipelinePolicy[] = parsePolicies(POLICIES, 'test.yaml').map(toPipelinePolicy),
): Processor {
  return new Processor({
    policies,
    baseline: BaselineConfigSchema.parse({ halfLife: '10m', warmupSamples: 3 }),
    maxSeries,
    format: 'auto',
    limits: DEFAULT_DECODE_LIMITS,
  });
}

let offset = 0;
function rec(value: Buffer | null, replayed = false): SourceRecord {
  return {
    topic: 'm',
    partition: 0,
    offset: String(offset++),
    key: null,
    value,
    timestampMs: NOW,
    replayed,
  };
}

const cpu = (
  minute: number,
  value: number | string,
  labels: Record<string, string> = { env: 'prod', app: 'web' },
) => rec(jsonMessage('cpu', labels, T0 + minute * MIN, value));

describe('Processor', () => {
  it('fires every action of a policy once the breach lasted its duration, with evidence', () => {
    const p = processor();
    const values = [50, 52, 48, 51, 90, 95, 92, 93];
    const { fires, deadLetters, stats } = p.processBatch(
      values.map((v, i) => cpu(i, v)),
      NOW,
    );
    expect(deadLetters).toEqual([]);
    expect(stats.samplesScored).toBe(8);
    expect(fires).toHaveLength(1);
    const fire = fires[0];
    expect(fire?.observedAtMs).toBe(T0 + 6 * MIN); // breach from minute 4, 2 minutes later
    expect(fire?.cooldownKey).toBe('cpu-high|deployment//web');
    expect(fire?.actions.map((a) => [a.actionId, a.type])).toEqual([
      [`${fire?.fireId}.0`, 'scale'],
      [`${fire?.fireId}.1`, 'restart'],
    ]);
    const evidence = fire?.actions[0]?.evidence;
    expect(evidence).toMatchObject({
      series: 'cpu{app="web",env="prod"}',
      value: 92,
      // The highest value of the breach, not the sample that completed it.
      breachPeak: 95,
      threshold: 80,
      breachStartMs: T0 + 4 * MIN,
      breachDurationMs: 2 * MIN,
    });
    expect(evidence?.baselineMean).toBeGreaterThan(50);
    expect(evidence?.baselineMean).toBeLessThan(80);
    expect(evidence?.anomalyScore).toBeGreaterThan(0.9);
    expect(fire?.actions[0]?.scale).toEqual({ mode: 'relative', replicas: 2, maxReplicas: 10 });
    expect(fire?.actions[0]?.decidedAtMs).toBe(NOW);
    // The envelope, breachPeak included, is what the schema accepts.
    expect(ActionEnvelopeSchema.parse(fire?.actions[0])).toEqual(fire?.actions[0]);
  });

  it('gives the same fire ids when the same input is processed again from scratch', () => {
    const input = [90, 91, 92, 93].map((v, i) => cpu(i, v));
    const a = processor()
      .processBatch(input, NOW)
      .fires.map((f) => f.fireId);
    const b = processor()
      .processBatch(input, NOW)
      .fires.map((f) => f.fireId);
    expect(a).toHaveLength(1);
    expect(a).toEqual(b);
  });

  it('counts and skips out-of-order and duplicate timestamps', () => {
    const p = processor();
    const { stats } = p.processBatch([cpu(5, 50), cpu(5, 51), cpu(3, 52), cpu(6, 53)], NOW);
    expect(stats).toMatchObject({ samplesScored: 2, samplesDuplicate: 1, samplesOutOfOrder: 1 });
  });

  it('ends a breach at a staleness marker (NaN)', () => {
    const p = processor();
    const { fires, stats } = p.processBatch(
      [cpu(0, 90), cpu(1, 'NaN'), cpu(2, 90), cpu(3, 90)],
      NOW,
    );
    expect(stats.samplesStale).toBe(1);
    expect(fires).toEqual([]); // breach restarted at minute 2, only 1 minute long
  });

  it('does not apply a policy to series its selector excludes', () => {
    const p = processor();
    const { fires } = p.processBatch(
      [0, 1, 2, 3].map((m) => cpu(m, 95, { env: 'dev', app: 'web' })),
      NOW,
    );
    expect(fires).toEqual([]);
  });

  it('counts breaching samples whose target needs a label the series lacks', () => {
    const p = processor();
    const { fires, stats } = p.processBatch(
      [0, 1, 2, 3].map((m) => cpu(m, 95, { env: 'prod' })),
      NOW,
    );
    expect(fires).toEqual([]);
    expect(stats.targetUnresolved).toBe(4);
  });

  it('bounds live series and counts evictions; an evicted series starts afresh', () => {
    const p = processor(2);
    const { stats } = p.processBatch(
      [
        cpu(0, 50, { env: 'prod', app: 'a' }),
        cpu(0, 50, { env: 'prod', app: 'b' }),
        cpu(0, 50, { env: 'prod', app: 'c' }), // evicts a
        cpu(1, 50, { env: 'prod', app: 'a' }), // evicts b; a is new again
      ],
      NOW,
    );
    expect(stats.evictions).toBe(2);
    expect(p.liveSeries).toBe(2);
    // a came back with fresh state: a sample older than its first one is accepted again
    expect(p.processBatch([cpu(0, 50, { env: 'prod', app: 'b' })], NOW).stats.samplesScored).toBe(
      1,
    );
  });

  it('dead-letters a partly bad message but still uses its good samples', () => {
    const p = processor();
    const good = { name: 'cpu', labels: { env: 'prod', app: 'web' }, timestamp: T0, value: 1 };
    const bad = { name: 'cpu', labels: {}, timestamp: T0, value: 'x' };
    const { deadLetters, stats } = p.processBatch(
      [rec(Buffer.from(JSON.stringify([good, bad])))],
      NOW,
    );
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.reason).toBe('partially_invalid');
    expect(deadLetters[0]?.detail).toContain('[1]');
    expect(stats).toMatchObject({ messagesPartial: 1, samplesScored: 1 });
  });

  it('does not dead-letter replayed records a second time, but rebuilds state from them', () => {
    const p = processor();
    const replay = [
      rec(Buffer.from('garbage'), true),
      rec(jsonMessage('cpu', { env: 'prod', app: 'web' }, T0, 90), true),
    ];
    const { deadLetters, stats } = p.processBatch(replay, NOW);
    expect(deadLetters).toEqual([]);
    expect(stats).toMatchObject({ messagesReplayed: 2, samplesScored: 1 });
    const { fires } = p.processBatch([cpu(2, 95)], NOW);
    expect(fires).toHaveLength(1); // the breach began in the replayed part
  });

  it('fires a sustained breach once per cooldown window', () => {
    const p = processor();
    const minutes = Array.from({ length: 31 }, (_, m) => m);
    const { fires } = p.processBatch(
      minutes.map((m) => cpu(m, 95)),
      NOW,
    );
    expect(fires.map((f) => (f.observedAtMs - T0) / MIN)).toEqual([2, 12, 22]);
  });
});
