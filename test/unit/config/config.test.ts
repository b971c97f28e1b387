import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../../src/cli/run.js';
import { buildWorkerConfig, workerEnvironmentLayer } from '../../../src/config/assemble.js';
import { parseDurationMs } from '../../../src/config/duration.js';
import { ERROR_CODES, HealcastError, isRetriable } from '../../../src/errors.js';

describe('durations', () => {
  it.each([
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['10s', 10_000],
    ['2d', 172_800_000],
    [1500, 1500],
    ['1500', 1500],
    ['1.5s', 1500],
  ] as const)('%s → %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each(['', '5 minutes', 'm5', '-1s', '5x', -1, Number.NaN])('rejects %s', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });
});

describe('worker configuration', () => {
  it('defaults to the embedded demo', () => {
    const config = buildWorkerConfig({});
    expect(config).toMatchObject({
      mode: 'embedded',
      http: { host: '127.0.0.1', port: 9464 },
      maxSeries: 1_000_000,
    });
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('switches to Kafka mode when KAFKA_BROKERS is set, and reads the environment', () => {
    const config = buildWorkerConfig(
      workerEnvironmentLayer({
        KAFKA_BROKERS: 'a:9092, b:9092',
        REDIS_URL: 'redis://r:6379',
        HEALCAST_POLICIES: 'p.yaml',
        HEALCAST_HTTP_PORT: '9000',
        HEALCAST_TOPICS: 'm1,m2',
      }),
    );
    expect(config.mode).toBe('kafka');
    expect(config.kafka?.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.kafka?.topics).toEqual(['m1', 'm2']);
    expect(config.http.port).toBe(9000);
    expect(config.kafka?.sessionTimeout).toBe(30_000);
  });

  it('lets flags override the environment, and the environment the file', async () => {
    const config = await resolveRunConfig(
      { port: '7000', brokers: 'x:1', redis: 'redis://y', policies: 'f.yaml' },
      {
        HEALCAST_HTTP_PORT: '8000',
        HEALCAST_GROUP_ID: 'from-env',
      },
    );
    expect(config.http.port).toBe(7000);
    expect(config.kafka?.groupId).toBe('from-env');
    expect(config.kafka?.brokers).toEqual(['x:1']);
  });

  it('--embedded ignores KAFKA_BROKERS', async () => {
    const config = await resolveRunConfig({ embedded: true }, { KAFKA_BROKERS: 'a:1' });
    expect(config.mode).toBe('embedded');
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a bad port', { http: { port: 70_000 } }, 'http.port'],
    ['a non-numeric port', { http: { port: 'abc' } }, 'http.port'],
    [
      'a broker without port',
      { mode: 'kafka', kafka: { brokers: ['kafka'] }, redis: { url: 'redis://r' }, policies: 'p' },
      'kafka.brokers.0',
    ],
    ['Kafka without Redis', { mode: 'kafka', kafka: { brokers: ['k:1'] }, policies: 'p' }, 'redis'],
    [
      'Kafka without policies',
      { mode: 'kafka', kafka: { brokers: ['k:1'] }, redis: { url: 'redis://r' } },
      'policies',
    ],
    [
      'a heartbeat too close to the session timeout',
      { kafka: { brokers: ['k:1'], sessionTimeout: '10s', heartbeatInterval: '5s' } },
      'kafka.heartbeatInterval',
    ],
    ['a bad duration', { baseline: { halfLife: 'soon' } }, 'baseline.halfLife'],
    ['an unknown key', { kafak: {} }, 'kafak'],
    ['a bad redis URL', { redis: { url: 'http://x' } }, 'redis.url'],
  ];
  it.each(invalid)('rejects %s, naming the path', (_, layer, path) => {
    try {
      buildWorkerConfig(layer);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(HealcastError);
      expect((error as HealcastError).code).toBe('CONFIG_INVALID');
      expect((error as HealcastError).retriable).toBe(false);
      expect((error as Error).message).toContain(`${path}`);
    }
  });

  it('shows the bad value', () => {
    expect(() => buildWorkerConfig({ http: { port: 'abc' } })).toThrow(
      /http\.port: .*\(got "abc"\)/,
    );
  });

  it('names an unknown key at its own path, not its whole parent', () => {
    expect(() => buildWorkerConfig({ kafka: { brokrs: ['a:1'] } })).toThrow(
      /kafka\.brokrs: unknown key \(got \["a:1"\]\)/,
    );
  });
});

describe('error catalog', () => {
  it('documents every code and carries the retriable flag', () => {
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      expect(description.length).toBeGreaterThan(10);
      const error = new HealcastError(code as keyof typeof ERROR_CODES, 'x', {
        retriable: code.endsWith('UNAVAILABLE'),
      });
      expect(isRetriable(error)).toBe(code.endsWith('UNAVAILABLE'));
    }
    expect(isRetriable(new Error('plain'))).toBe(false);
  });
});

describe('detector settings', () => {
  it('the rich detector is off by default and listed metrics turn it on (HEALCAST_DETECTOR_METRICS)', () => {
    expect(buildWorkerConfig({}).detector.metrics).toEqual([]);
    const config = buildWorkerConfig(
      workerEnvironmentLayer({ HEALCAST_DETECTOR_METRICS: 'cpu_utilization, http_error_ratio' }),
    );
    expect(config.detector.metrics).toEqual(['cpu_utilization', 'http_error_ratio']);
    expect(config.detector.warmupSamples).toBe(150);
  });
});
