import { describe, expect, it } from 'vitest';
import { MemoryActionSink } from '../../../src/adapters/memory/memoryActionSink.js';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import type { ActionSink, EnqueueResult } from '../../../src/dispatch/actionSink.js';
import type { Fire } from '../../../src/dispatch/envelope.js';
import { HealcastError } from '../../../src/errors.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { MetricSource } from '../../../src/ingest/source.js';
import type { PipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { InlineBatchProcessor } from '../../../src/pipeline/batchProcessor.js';
import { Processor } from '../../../src/pipeline/processor.js';
import { Worker } from '../../../src/pipeline/worker.js';
import {
  batchOf,
  freshMetrics,
  jsonMessage,
  ManualClock,
  RecordingDeadLetterSink,
  silentLogger,
} from '../../helpers/fakes.js';

const T0 = 1_700_000_000_000;

const cpuPolicy: PipelinePolicy = {
  name: 'cpu-high',
  metric: 'cpu',
  threshold: 80,
  direction: 'above',
  inclusive: false,
  durationMs: 0,
  maxGapMs: 120_000,
  cooldownMs: 600_000,
  matches: () => true,
  resolveTarget: () => ({ kind: 'service', name: 'web' }),
  actions: [{ type: 'restart', parameters: {}, scale: undefined }],
  predict: undefined,
  forecastOnly: false,
};

/** An action sink that is "down" for the first `failures` calls. */
class FlakySink implements ActionSink {
  readonly inner = new MemoryActionSink();
  calls = 0;
  constructor(private failures: number) {}
  enqueue(fires: readonly Fire[]): Promise<EnqueueResult[]> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(
        new HealcastError('SINK_UNAVAILABLE', 'redis down', { retriable: true }),
      );
    }
    return this.inner.enqueue(fires);
  }
  isReady(): boolean {
    return this.failures === 0;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const idleSource: MetricSource = {
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  isReady: () => true,
  finished: Promise.resolve(),
};

function makeWorker(sink: ActionSink, dlq = new RecordingDeadLetterSink()) {
  const metrics = freshMetrics();
  const clock = new ManualClock(T0 + 3_600_000);
  const processor = new InlineBatchProcessor(
    new Processor({
      policies: [cpuPolicy],
      baseline: BaselineConfigSchema.parse({}),
      maxSeries: 100,
      format: 'auto',
      limits: DEFAULT_DECODE_LIMITS,
    }),
  );
  const worker = new Worker({
    source: idleSource,
    processor,
    actionSink: sink,
    deadLetterSink: dlq,
    metrics,
    log: silentLogger(),
    clock,
    retry: { initialMs: 100, maxMs: 1_000 },
    maxInFlightBatches: 2,
    shutdownGraceMs: 50,
  });
  return { worker, metrics, dlq };
}

describe('Worker', () => {
  it('holds the batch while the action sink is down, then commits once it is written', async () => {
    const sink = new FlakySink(3);
    const { worker, metrics } = makeWorker(sink);
    const batch = batchOf([jsonMessage('cpu', { host: 'a' }, T0, 95)]);
    const verdict = await worker.handle(batch);
    expect(verdict).toBe('commit');
    expect(sink.calls).toBe(4);
    expect(batch.heartbeats).toBe(3);
    expect(sink.inner.entries).toHaveLength(1);
    const retries = await metrics.sinkRetries.get();
    expect(retries.values.find((v) => v.labels.sink === 'action_sink')?.value).toBe(3);
  });

  it('abandons (does not commit) a batch it cannot write when stopping', async () => {
    const sink = new FlakySink(Number.MAX_SAFE_INTEGER);
    const { worker } = makeWorker(sink);
    const handled = worker.handle(batchOf([jsonMessage('cpu', { host: 'a' }, T0, 95)]));
    await new Promise((resolve) => setImmediate(resolve));
    await worker.stop();
    expect(await handled).toBe('abandon');
    expect(sink.inner.entries).toHaveLength(0);
  });

  it('dead-letters bad messages and still processes the good ones', async () => {
    const sink = new MemoryActionSink();
    const { worker, metrics, dlq } = makeWorker(sink);
    const verdict = await worker.handle(
      batchOf([Buffer.from('{not json'), jsonMessage('cpu', { host: 'a' }, T0, 95), null]),
    );
    expect(verdict).toBe('commit');
    expect(dlq.letters.map((l) => l.reason)).toEqual(['invalid_json', 'empty_message']);
    expect(dlq.letters[0]?.record.offset).toBe('0');
    expect(sink.entries).toHaveLength(1);
    const outcomes = await metrics.messages.get();
    const byOutcome: Record<string, number> = {};
    for (const v of outcomes.values) byOutcome[String(v.labels.outcome)] = v.value;
    expect(byOutcome).toMatchObject({ ok: 1, dead_lettered: 2 });
  });

  it('does not enqueue twice when the same batch is delivered again', async () => {
    const sink = new MemoryActionSink();
    const { worker } = makeWorker(sink);
    const batch = batchOf([jsonMessage('cpu', { host: 'a' }, T0, 95)]);
    await worker.handle(batch);
    await worker.handle(batch);
    expect(sink.entries).toHaveLength(1);
  });

  it('applies backpressure: a batch is accepted only while fewer than the limit are in flight', async () => {
    const sink = new FlakySink(3); // the first batch needs retries, so it stays in flight a while
    const { worker } = makeWorker(sink); // maxInFlightBatches: 2
    const a = worker.submit(batchOf([jsonMessage('cpu', { host: 'a' }, T0, 95)]));
    const b = worker.submit(batchOf([jsonMessage('cpu', { host: 'b' }, T0, 95)]));
    const c = worker.submit(batchOf([jsonMessage('cpu', { host: 'c' }, T0, 95)]));
    let cAccepted = false;
    void c.accepted.then(() => (cAccepted = true));
    await a.accepted;
    await b.accepted;
    await Promise.resolve();
    expect(cAccepted).toBe(false);
    const order: string[] = [];
    await Promise.all([
      a.done.then(() => order.push('a')),
      b.done.then(() => order.push('b')),
      c.done.then(() => order.push('c')),
    ]);
    expect(cAccepted).toBe(true);
    expect(order).toEqual(['a', 'b', 'c']);
    // One target, so b and c were cooling down: one action.
    expect(sink.inner.entries.map((e) => e.evidence.labels.host)).toEqual(['a']);
  });

  it('abandons every batch after an abandoned one, so no later offset is committed', async () => {
    const sink = new FlakySink(Number.MAX_SAFE_INTEGER);
    const { worker } = makeWorker(sink);
    const first = worker.submit(batchOf([jsonMessage('cpu', { host: 'a' }, T0, 95)]));
    const second = worker.submit(batchOf([jsonMessage('cpu', { host: 'b' }, T0, 50)])); // no fire
    await new Promise((resolve) => setImmediate(resolve));
    await worker.stop();
    expect(await first.done).toBe('abandon');
    expect(await second.done).toBe('abandon');
  });
});
