import { pino } from 'pino';
import { Registry } from 'prom-client';
import type {
  DeadLetter,
  DeadLetterSink,
  SourceBatch,
  SourceRecord,
} from '../../src/ingest/source.js';
import type { Logger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import type { Clock } from '../../src/pipeline/clock.js';

/** A manual clock: time moves only when the test (or a sleep) moves it. */
export class ManualClock implements Clock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
  /** Advances time by `ms` and yields once to the event loop, so timers and I/O can run. */
  sleep(ms: number): Promise<void> {
    this.now += ms;
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/** A logger that writes nowhere. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Metrics on a fresh registry. */
export function freshMetrics(): WorkerMetrics {
  return new WorkerMetrics(new Registry());
}

/** Dead-letter sink that records, and can be told to fail. */
export class RecordingDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  failuresLeft = 0;
  send(letters: readonly DeadLetter[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return Promise.reject(new Error('not retriable by default'));
    }
    this.letters.push(...letters);
    return Promise.resolve();
  }
  isReady(): boolean {
    return true;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Canonical JSON message bytes. */
export function jsonMessage(
  name: string,
  labels: Record<string, string>,
  timestampMs: number,
  value: number | string,
): Buffer {
  return Buffer.from(JSON.stringify({ name, labels, timestamp: timestampMs, value }));
}

/** Wraps raw values into a source batch; `heartbeats` counts heartbeat calls. */
export function batchOf(
  values: (Buffer | null)[],
  firstOffset = 0,
): SourceBatch & { heartbeats: number } {
  const records: SourceRecord[] = values.map((value, i) => ({
    topic: 'metrics',
    partition: 0,
    offset: String(firstOffset + i),
    key: null,
    value,
    timestampMs: 0,
  }));
  const batch = {
    topic: 'metrics',
    partition: 0,
    records,
    lagAfter: 0,
    heartbeats: 0,
    heartbeat(): Promise<void> {
      batch.heartbeats++;
      return Promise.resolve();
    },
  };
  return batch;
}
