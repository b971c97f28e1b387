import { describe, expect, it } from 'vitest';
import { ThreadBatchProcessor } from '../../../src/adapters/thread/threadBatchProcessor.js';
import { packRecords, unpackRecords } from '../../../src/adapters/thread/protocol.js';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import { buildWorkerConfig, workerEnvironmentLayer } from '../../../src/config/assemble.js';
import { ForecastConfigSchema, subscribedTopics } from '../../../src/config/workerConfig.js';
import type { Fire } from '../../../src/dispatch/envelope.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { InlineBatchProcessor } from '../../../src/pipeline/batchProcessor.js';
import { createForecastStage } from '../../../src/pipeline/forecastStage.js';
import { toPipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { Processor, type ProcessorSettings } from '../../../src/pipeline/processor.js';
import { parsePolicies } from '../../../src/policy/load.js';
import { HealingPolicySchema } from '../../../src/policy/schema.js';
import { jsonMessage } from '../../helpers/fakes.js';
import { TrendForecaster } from '../../helpers/fakeForecaster.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const NOW = T0 + 86_400_000;
const DEPLOYMENTS = 'deployments';

const POLICIES = `
- name: checkout-rollback
  trigger: { metric: http_error_ratio, threshold: 0.05, duration: 1m }
  deployment: { window: 15m }
  target: { kind: deployment, name: '{{service}}', namespace: shop }
  actions: [{ type: rollback }]
  cooldown: 30m
- name: ungated-restart
  trigger: { metric: up, threshold: 1, direction: below, duration: 0 }
  target: { name: '{{service}}' }
  actions: [{ type: restart }]
`;

const settings: ProcessorSettings = {
  baseline: BaselineConfigSchema.parse({ warmupSamples: 3 }),
  maxSeries: 100,
  format: 'auto',
  limits: DEFAULT_DECODE_LIMITS,
  deploymentsTopic: DEPLOYMENTS,
};

function processor(yaml = POLICIES): Processor {
  return new Processor({
    ...settings,
    policies: parsePolicies(yaml, 'test.yaml').map(toPipelinePolicy),
  });
}

let offset = 0;
function record(topic: string, value: Buffer, replayed = false): SourceRecord {
  return {
    topic,
    partition: 0,
    offset: String(offset++),
    key: null,
    value,
    timestampMs: 0,
    replayed,
  };
}

function deployed(
  minute: number,
  version: string,
  extra: Record<string, unknown> = {},
  replayed = false,
): SourceRecord {
  const event = { service: 'checkout', version, time: T0 + minute * MIN, ...extra };
  return record(DEPLOYMENTS, Buffer.from(JSON.stringify(event)), replayed);
}

function errors(minute: number, ratio: number, labels = { service: 'checkout' }): SourceRecord {
  return record('metrics', jsonMessage('http_error_ratio', labels, T0 + minute * MIN, ratio));
}

/** Error ratio per minute `from`..`to - 1`: 1 % before minute `breachFrom`, 20 % from it on. */
function errorSeries(from: number, to: number, breachFrom: number): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (let m = from; m < to; m++) out.push(errors(m, m >= breachFrom ? 0.2 : 0.01));
  return out;
}

const minutesOf = (fires: Fire[]) => fires.map((f) => (f.observedAtMs - T0) / MIN);

/** Minutes at which one batch fired. */
const firedAt = (p: Processor, records: SourceRecord[]) =>
  minutesOf(p.processBatch(records, NOW).fires);

describe('deployment-gated policies: the reactive path', () => {
  it('fires inside the window, once, with the deployment in the evidence', () => {
    const p = processor();
    const { fires, deployments } = p.processBatch(
      [
        deployed(10, 'v42', { previousVersion: 'v41', environment: 'prod' }),
        ...errorSeries(0, 20, 12),
      ],
      NOW,
    );
    expect(deployments).toEqual([
      {
        event: {
          service: 'checkout',
          version: 'v42',
          previousVersion: 'v41',
          environment: 'prod',
          deployedAtMs: T0 + 10 * MIN,
        },
        outcome: 'recorded',
      },
    ]);
    expect(minutesOf(fires)).toEqual([13]); // breach from 12, lasted 1m; then cooling down
    const action = fires[0]?.actions[0];
    expect(action).toMatchObject({
      type: 'rollback',
      trigger: 'reactive',
      target: { kind: 'deployment', name: 'checkout', namespace: 'shop' },
    });
    expect(action?.evidence.deployment).toEqual({
      service: 'checkout',
      version: 'v42',
      previousVersion: 'v41',
      deployedAtMs: T0 + 10 * MIN,
    });
  });

  it('does not fire without a deployment, for another service, or after the window', () => {
    expect(firedAt(processor(), errorSeries(0, 40, 30))).toEqual([]);
    const other = deployed(25, 'v9', { service: 'payments' });
    expect(firedAt(processor(), [other, ...errorSeries(0, 40, 30)])).toEqual([]);
    // Deployed at minute 10: the window closed at 25, before the breach began.
    expect(firedAt(processor(), [deployed(10, 'v42'), ...errorSeries(0, 40, 30)])).toEqual([]);
    // The same breach right after a deployment does fire.
    expect(firedAt(processor(), [deployed(28, 'v42'), ...errorSeries(0, 40, 30)])).toEqual([31]);
  });

  it('counts a breach begun before the deployment only from the deployment on', () => {
    const { fires } = processor().processBatch(
      [deployed(10, 'v42'), ...errorSeries(0, 20, 0)],
      NOW,
    );
    expect(minutesOf(fires)).toEqual([11]);
    // The evidence still tells when the breach really began.
    expect(fires[0]?.actions[0]?.evidence.breachStartMs).toBe(T0);
  });

  it('fires on the next breaching sample when the deployment is read after the breach', () => {
    const p = processor();
    expect(firedAt(p, errorSeries(0, 15, 12))).toEqual([]);
    expect(firedAt(p, [deployed(10, 'v42')])).toEqual([]);
    expect(firedAt(p, [errors(15, 0.2)])).toEqual([15]);
  });

  it('a newer deployment moves the window; an older one read late does not move it back', () => {
    const p = processor();
    p.processBatch([deployed(0, 'v42')], NOW);
    expect(firedAt(p, errorSeries(0, 25, 20))).toEqual([]);
    const next = p.processBatch([deployed(30, 'v43'), deployed(5, 'v42-late')], NOW);
    expect(next.deployments.map((d) => [d.event.version, d.outcome])).toEqual([
      ['v43', 'recorded'],
      ['v42-late', 'superseded'],
    ]);
    const { fires } = p.processBatch(errorSeries(25, 40, 20), NOW);
    expect(minutesOf(fires)).toEqual([31]); // breach from 20, counted from the deploy at 30
    expect(fires[0]?.actions[0]?.evidence.deployment?.version).toBe('v43');
  });

  it('renders the service from the series labels; a missing label means no window', () => {
    const yaml = POLICIES.replace(
      'deployment: { window: 15m }',
      "deployment: { window: 15m, service: '{{app}}' }",
    );
    const p = processor(yaml);
    const withApp = { service: 'checkout-web', app: 'checkout' };
    const { fires } = p.processBatch(
      [
        deployed(0, 'v42'),
        ...[1, 2, 3].map((m) => errors(m, 0.2, withApp)),
        ...[1, 2, 3].map((m) => errors(m, 0.2, { service: 'checkout' })),
      ],
      NOW,
    );
    expect(fires.map((f) => f.actions[0]?.target.name)).toEqual(['checkout-web']);
  });

  it('leaves policies without a gate alone', () => {
    const down = (m: number) =>
      record('metrics', jsonMessage('up', { service: 'checkout' }, T0 + m * MIN, 0));
    const { fires } = processor().processBatch([down(1)], NOW);
    expect(fires.map((f) => f.policy)).toEqual(['ungated-restart']);
  });
});

describe('the deployments topic in the core', () => {
  it('dead-letters a bad deployment with its reason and counts it, like a bad metric', () => {
    const p = processor();
    const bad = record(DEPLOYMENTS, Buffer.from('{"serivce":"checkout","version":"v1","time":1}'));
    const { deadLetters, stats, deployments } = p.processBatch(
      [errors(0, 0.01), bad, record(DEPLOYMENTS, Buffer.from(''))],
      NOW,
    );
    expect(deployments).toEqual([]);
    expect(deadLetters.map((d) => [d.index, d.reason])).toEqual([
      [1, 'invalid_schema'],
      [2, 'empty_message'],
    ]);
    expect(deadLetters[0]?.detail).toContain('unknown field "serivce"');
    expect(stats).toMatchObject({ messagesOk: 1, messagesDeadLettered: 2 });
    expect([...stats.deadLetterReasons]).toEqual([
      ['invalid_schema', 1],
      ['empty_message', 1],
    ]);
  });

  it('rebuilds windows from replayed deployments without dead-lettering or reporting them again', () => {
    const p = processor();
    const replay = p.processBatch(
      [deployed(10, 'v42', {}, true), record(DEPLOYMENTS, Buffer.from('junk'), true)],
      NOW,
    );
    expect(replay.deadLetters).toEqual([]);
    expect(replay.deployments).toEqual([]);
    expect(replay.stats.messagesReplayed).toBe(2);
    expect(firedAt(p, errorSeries(0, 20, 12))).toEqual([13]);
  });

  it('reads records of that topic as metrics when no deployments topic is configured', () => {
    const p = new Processor({
      ...settings,
      deploymentsTopic: undefined,
      policies: parsePolicies(POLICIES, 'test.yaml').map(toPipelinePolicy),
    });
    const { deadLetters, deployments } = p.processBatch([deployed(10, 'v42')], NOW);
    expect(deployments).toEqual([]);
    expect(deadLetters.map((d) => d.reason)).toEqual(['invalid_schema']);
  });

  it('crosses the thread boundary: records keep their topic, the threaded core agrees', async () => {
    const input = [deployed(10, 'v42'), ...errorSeries(0, 20, 12)];
    const { message } = packRecords(1, NOW, input);
    expect(unpackRecords(message).map((r) => r.topic)).toEqual(input.map((r) => r.topic));
    const policies = parsePolicies(POLICIES, 'test.yaml');
    const threaded = await ThreadBatchProcessor.start({ policies, settings });
    try {
      const inline = new InlineBatchProcessor(processor());
      const [a, b] = await Promise.all([threaded.process(input, NOW), inline.process(input, NOW)]);
      expect(a).toEqual(b);
      expect(minutesOf(a.fires)).toEqual([13]);
    } finally {
      await threaded.close();
    }
  });
});

describe('deployment-gated policies: the predictive path', () => {
  const PREDICTIVE = `
- name: web-predictive-rollback
  trigger: { metric: cpu, threshold: 80, duration: 2m, predict: { horizon: 10m, probability: 0.8 } }
  leadTime: 3m
  deployment: { window: 30m, service: '{{app}}' }
  target: { kind: deployment, name: '{{app}}' }
  actions: [{ type: rollback }]
  cooldown: 30m
`;

  function predictiveProcessor(): Processor {
    // The production factory, with the transparent fake model in place of the shipped one.
    const forecast = createForecastStage(
      ForecastConfigSchema.parse({ budget: '1s', maxBatch: 64 }),
      settings.maxSeries,
      () => 0,
    );
    forecast.engine.setForecaster(new TrendForecaster());
    return new Processor({
      ...settings,
      baseline: BaselineConfigSchema.parse({ warmupSamples: 5 }),
      policies: parsePolicies(PREDICTIVE, 'test.yaml').map(toPipelinePolicy),
      forecast,
    });
  }

  /** 64 flat minutes around 40, then +2/min: first above 80 at minute 84. */
  const cpu = (minute: number) =>
    record(
      'metrics',
      jsonMessage(
        'cpu',
        { app: 'web' },
        T0 + minute * MIN,
        minute < 64 ? 40 + (minute % 2) : 40 + 2 * (minute - 63),
      ),
    );
  const deployWeb = (minute: number) =>
    record(
      DEPLOYMENTS,
      Buffer.from(JSON.stringify({ service: 'web', version: 'v7', time: T0 + minute * MIN })),
    );

  /** Feeds minutes 0..99 one batch each, the deployment (if any) in the batch of its minute. */
  function run(deployAt: number | undefined): { minute: number; fire: Fire }[] {
    const p = predictiveProcessor();
    const fired: { minute: number; fire: Fire }[] = [];
    for (let minute = 0; minute < 100; minute++) {
      const batch = minute === deployAt ? [deployWeb(minute), cpu(minute)] : [cpu(minute)];
      for (const fire of p.processBatch(batch, NOW).fires) fired.push({ minute, fire });
    }
    return fired;
  }

  it('fires ahead of the breach inside the window, the deployment in the evidence', () => {
    const fired = run(64);
    expect(fired).toHaveLength(1);
    const first = fired[0];
    expect(first?.fire.actions[0]?.trigger).toBe('predictive');
    expect(first?.minute).toBeLessThan(84);
    expect(first?.fire.actions[0]?.evidence.deployment).toEqual({
      service: 'web',
      version: 'v7',
      deployedAtMs: T0 + 64 * MIN,
    });
    expect(first?.fire.actions[0]?.evidence.prediction?.leadTimeMs).toBe(3 * MIN);
  });

  it('stays quiet without a deployment, and after the window closed', () => {
    expect(run(undefined)).toEqual([]);
    expect(run(10)).toEqual([]); // window 10..40, the climb starts at 64
  });

  it('fires once a window opens on a breach already forecast (the episode was not used up)', () => {
    const early = run(64)[0]?.minute ?? NaN;
    const fired = run(early + 1);
    expect(fired).toHaveLength(1);
    expect(fired[0]?.minute).toBe(early + 1);
    expect(fired[0]?.fire.actions[0]?.trigger).toBe('predictive');
  });
});

describe('the deployment gate in the policy schema', () => {
  const policy = (deployment: unknown, duration = '1m') =>
    HealingPolicySchema.safeParse({
      name: 'p',
      trigger: { metric: 'http_error_ratio', threshold: 0.05, duration },
      target: { name: 'checkout' },
      actions: [{ type: 'rollback' }],
      deployment,
    });

  it('normalises to milliseconds and the default service template', () => {
    const parsed = policy({ window: '15m' });
    expect(parsed.success && parsed.data.deployment).toEqual({
      windowMs: 900_000,
      serviceTemplate: '{{service}}',
    });
    expect(parsed.success && parsed.data.warnings).toEqual([]);
    const custom = policy({ window: 60_000, service: '{{app}}-{{env}}' });
    expect(custom.success && custom.data.deployment?.serviceTemplate).toBe('{{app}}-{{env}}');
  });

  it('leaves a policy without the gate as it was', () => {
    const parsed = policy(undefined);
    expect(parsed.success && 'deployment' in parsed.data).toBe(false);
  });

  it.each([
    [{ window: 0 }, 'deployment.window', 'must be longer than zero'],
    [{ window: '15 minutes' }, 'deployment.window', 'invalid duration'],
    [{ window: '15m', service: '{{app' }, 'deployment.service', 'invalid template'],
    [{ window: '15m', servcie: '{{app}}' }, 'deployment', 'servcie'],
    [{}, 'deployment.window', ''],
  ])('refuses %j', (gate, path, message) => {
    const parsed = policy(gate);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues.find((i) => i.path.join('.') === path);
    expect(issue?.message ?? JSON.stringify(parsed.error?.issues)).toContain(message);
  });

  it('warns when the trigger duration can never fit in the window', () => {
    const parsed = policy({ window: '5m' }, '10m');
    expect(parsed.success && parsed.data.warnings).toEqual([
      'deployment.window: 5m is shorter than trigger.duration 10m, so no breach can last long enough inside it: the policy can never fire',
    ]);
  });
});

describe('the deployments topic in the configuration', () => {
  const kafka = { brokers: ['127.0.0.1:9092'], topics: ['metrics'] };

  it('is optional, set by file or HEALCAST_DEPLOYMENTS_TOPIC, and subscribed after the metrics', () => {
    const none = buildWorkerConfig({ kafka });
    expect(none.kafka && subscribedTopics(none.kafka)).toEqual(['metrics']);
    const fromEnv = buildWorkerConfig(
      { kafka },
      workerEnvironmentLayer({ HEALCAST_DEPLOYMENTS_TOPIC: 'deployments' }),
    );
    expect(fromEnv.kafka?.deploymentsTopic).toBe('deployments');
    expect(fromEnv.kafka && subscribedTopics(fromEnv.kafka)).toEqual(['metrics', 'deployments']);
  });

  it.each(['metrics', 'metrics.dead-letter'])('must not be %s', (topic) => {
    expect(() => buildWorkerConfig({ kafka: { ...kafka, deploymentsTopic: topic } })).toThrow(
      /kafka\.deploymentsTopic: must differ from kafka\.topics and kafka\.deadLetterTopic/,
    );
  });
});
