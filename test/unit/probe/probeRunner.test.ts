import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../../src/ingest/sample.js';
import type { Clock } from '../../../src/pipeline/clock.js';
import { PolicyFileSchema, type HttpGetSpec, type ProbeSpec } from '../../../src/policy/schema.js';
import type { MetricPublisher } from '../../../src/probe/metricPublisher.js';
import {
  ProbeMetrics,
  probeEventHandler,
} from '../../../src/observability/probeInstrumentation.js';
import type { Prober, ProbeResult } from '../../../src/probe/prober.js';
import {
  ProbeRunner,
  probesOf,
  type ProbeDefinition,
  type ProbeEvent,
} from '../../../src/probe/probeRunner.js';
import { silentLogger } from '../../helpers/fakes.js';

const T0 = 1_700_000_000_000;

/** Virtual time: sleeps wake in time order only when the test advances the clock. */
class VirtualClock implements Clock {
  now = T0;
  private timers: { atMs: number; wake: () => void }[] = [];

  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = { atMs: this.now + ms, wake: resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      });
    });
  }
  /** Moves time to `targetMs`, waking each sleeper at its own time and letting it run. */
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.atMs <= targetMs).sort((a, b) => a.atMs - b.atMs)[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.now = Math.max(this.now, next.atMs);
      next.wake();
    }
    this.now = targetMs;
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Answers from a script of results per path; the last result repeats. */
class ScriptedProber implements Prober {
  readonly calls: { path: string; atMs: number; timeoutMs: number }[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly script: Record<string, (ProbeResult | 'throw')[]>,
  ) {}
  probe(request: HttpGetSpec, timeoutMs: number): Promise<ProbeResult> {
    this.calls.push({ path: request.path, atMs: this.clock.now, timeoutMs });
    const results = this.script[request.path] ?? [];
    const result = results.length > 1 ? results.shift() : results[0];
    if (result === undefined || result === 'throw') return Promise.reject(new Error('boom'));
    return Promise.resolve(result);
  }
}

class RecordingPublisher implements MetricPublisher {
  readonly samples: MetricSample[] = [];
  failuresLeft = 0;
  publish(samples: readonly MetricSample[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return Promise.reject(new Error('broker down'));
    }
    this.samples.push(...samples);
    return Promise.resolve();
  }
  valuesOf(metric: string, probe: string): number[] {
    return this.samples
      .filter((s) => s.name === metric && s.labels['probe'] === probe)
      .map((s) => s.value);
  }
}

const OK: ProbeResult = { ok: true, status: 200 };
const DOWN: ProbeResult = { ok: false, reason: 'http_status', detail: 'HTTP 503', status: 503 };

function definition(name: string, spec: Partial<ProbeSpec> = {}): ProbeDefinition {
  return {
    name,
    target: 'api',
    spec: {
      httpGet: { scheme: 'http', host: '127.0.0.1', port: 8080, path: `/${name}` },
      initialDelayMs: 0,
      periodMs: 1_000,
      timeoutMs: 200,
      failureThreshold: 3,
      ...spec,
    },
  };
}

function setup(probes: ProbeDefinition[], script: Record<string, (ProbeResult | 'throw')[]>) {
  const clock = new VirtualClock();
  const prober = new ScriptedProber(clock, script);
  const publisher = new RecordingPublisher();
  const events: ProbeEvent[] = [];
  const runner = new ProbeRunner({
    probes,
    prober,
    publisher,
    clock,
    onEvent: (event) => events.push(event),
  });
  return { clock, prober, publisher, events, runner };
}

const FAILURES = 'healcast_probe_consecutive_failures';

describe('ProbeRunner', () => {
  it('probes on schedule and publishes the count that reaches the threshold on the Nth failure', async () => {
    const { clock, prober, publisher, events, runner } = setup(
      [definition('a', { initialDelayMs: 500 })],
      { '/a': [OK, OK, DOWN] },
    );
    runner.start();
    await clock.advanceTo(T0 + 4_600);
    expect(prober.calls.map((c) => c.atMs - T0)).toEqual([500, 1_500, 2_500, 3_500, 4_500]);
    expect(prober.calls[0]?.timeoutMs).toBe(200);
    expect(publisher.valuesOf(FAILURES, 'a')).toEqual([0, 0, 1, 2, 3]);
    const completed = events.filter((e) => e.event === 'probe_completed');
    expect(completed.map((e) => e.thresholdReached)).toEqual([false, false, false, false, true]);
    expect(completed[2]).toMatchObject({ ok: false, reason: 'http_status', status: 503 });
    // Started over: the initial delay applies before the next probe.
    await clock.advanceTo(T0 + 5_400);
    expect(prober.calls).toHaveLength(5);
    await clock.advanceTo(T0 + 6_000);
    expect(prober.calls).toHaveLength(6);
    expect(publisher.valuesOf(FAILURES, 'a').at(-1)).toBe(1);
    await runner.stop();
  });

  it('runs one independent loop per probe', async () => {
    const { clock, publisher, runner } = setup(
      [definition('a', { periodMs: 1_000 }), definition('b', { periodMs: 400 })],
      { '/a': [OK], '/b': [DOWN] },
    );
    runner.start();
    await clock.advanceTo(T0 + 2_100);
    expect(publisher.valuesOf(FAILURES, 'a')).toEqual([0, 0, 0]);
    expect(publisher.valuesOf(FAILURES, 'b')).toEqual([1, 2, 3, 1, 2, 3]);
    await runner.stop();
  });

  it('reports a failed publish and keeps probing', async () => {
    const { clock, publisher, events, runner } = setup([definition('a')], { '/a': [DOWN] });
    publisher.failuresLeft = 1;
    runner.start();
    await clock.advanceTo(T0 + 1_100);
    expect(events.find((e) => e.event === 'probe_publish_failed')).toMatchObject({
      probe: 'a',
      samples: 2,
    });
    // The first result was lost; the count still went on.
    expect(publisher.valuesOf(FAILURES, 'a')).toEqual([2]);
    await runner.stop();
  });

  it('counts a prober that throws as a failed check', async () => {
    const { clock, events, runner } = setup([definition('a')], { '/a': ['throw'] });
    runner.start();
    await clock.advanceTo(T0 + 100);
    expect(events[0]).toMatchObject({ event: 'probe_completed', ok: false, reason: 'error' });
    await runner.stop();
  });

  it('stops promptly while waiting for the next probe, and can start again', async () => {
    const { clock, prober, runner } = setup([definition('a', { periodMs: 60_000 })], {
      '/a': [OK],
    });
    runner.start();
    runner.start(); // idempotent: still one loop
    await clock.advanceTo(T0 + 10);
    expect(prober.calls).toHaveLength(1);
    await runner.stop(); // resolves without the clock moving
    await clock.advanceTo(T0 + 120_000);
    expect(prober.calls).toHaveLength(1);
    runner.start();
    await clock.advanceTo(T0 + 120_010);
    expect(prober.calls).toHaveLength(2);
    await runner.stop();
  });

  it('records nothing for a check cut short by stop', async () => {
    const clock = new VirtualClock();
    const publisher = new RecordingPublisher();
    const events: ProbeEvent[] = [];
    const hanging: Prober = {
      probe: (_request, _timeoutMs, signal) =>
        new Promise((resolve) =>
          signal?.addEventListener('abort', () =>
            resolve({ ok: false, reason: 'aborted', detail: 'probe stopped' }),
          ),
        ),
    };
    const runner = new ProbeRunner({
      probes: [definition('a')],
      prober: hanging,
      publisher,
      clock,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    await clock.advanceTo(T0 + 10);
    await runner.stop();
    expect(events).toEqual([]);
    expect(publisher.samples).toEqual([]);
  });
});

describe('probesOf', () => {
  it('takes the enabled probe policies, with their target names', () => {
    const policies = PolicyFileSchema.parse([
      {
        name: 'live',
        probe: { httpGet: { port: 8080, path: '/healthz' } },
        target: { name: 'api' },
        actions: [{ type: 'restart' }],
      },
      {
        name: 'off',
        enabled: false,
        probe: { httpGet: { port: 8081 } },
        target: { name: 'web' },
        actions: [{ type: 'restart' }],
      },
      {
        name: 'cpu',
        trigger: { metric: 'cpu', threshold: 80, duration: '1m' },
        target: { name: 'api' },
        actions: [{ type: 'restart' }],
      },
    ]);
    const probes = probesOf(policies);
    expect(probes.map((p) => [p.name, p.target, p.spec.httpGet.port])).toEqual([
      ['live', 'api', 8080],
    ]);
  });
});

describe('probe instrumentation', () => {
  it('counts probes by result, failures by reason, durations and publish failures', async () => {
    const registry = new Registry();
    const handle = probeEventHandler(new ProbeMetrics(registry), silentLogger());
    const base = { event: 'probe_completed', probe: 'a', durationMs: 12 } as const;
    handle({ ...base, ok: true, consecutiveFailures: 0, thresholdReached: false });
    handle({
      ...base,
      ok: false,
      reason: 'timeout',
      detail: 'slow',
      consecutiveFailures: 1,
      thresholdReached: false,
    });
    handle({ event: 'probe_publish_failed', probe: 'a', samples: 2, error: new Error('x') });
    const text = await registry.metrics();
    expect(text).toContain('healcast_probes_total{probe="a",result="success"} 1');
    expect(text).toContain('healcast_probes_total{probe="a",result="failure"} 1');
    expect(text).toContain('healcast_probe_failures_total{probe="a",reason="timeout"} 1');
    expect(text).toContain('healcast_probe_duration_seconds_count{probe="a"} 2');
    expect(text).toContain('healcast_probe_publish_failures_total{probe="a"} 1');
  });
});
