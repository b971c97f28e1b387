import { readFile } from 'node:fs/promises';
import { HealcastError } from '../../errors.js';
import { parseTimestamp } from '../../training/traces.js';
import type { MetricSource, SourceBatch, SourceRecord, Submission } from '../../ingest/source.js';
import type { Clock } from '../../pipeline/clock.js';

/** Settings of a trace replay. */
export interface ReplayOptions {
  readonly path: string;
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Trace milliseconds per wall-clock millisecond. */
  readonly speed: number;
  readonly loop: boolean;
  /** Trace time per batch (one batch per tick). */
  readonly batchSpanMs: number;
}

interface Point {
  readonly tsMs: number;
  readonly value: string;
}

/**
 * ReplaySource — a MetricSource that replays a `timestamp,value` CSV as canonical JSON
 * messages, so the embedded demo exercises the same decode → score → decide path as Kafka.
 * Timestamps are shifted so the trace ends "now" (the decoder rejects 1995 as implausible,
 * and a Prometheus user expects recent times).
 */
export class ReplaySource implements MetricSource {
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private resolveFinished: () => void = () => undefined;
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });
  /** Number of records delivered so far. */
  delivered = 0;

  constructor(
    private readonly options: ReplayOptions,
    private readonly clock: Clock,
  ) {}

  isReady(): boolean {
    return !this.stopping;
  }

  async start(handler: (batch: SourceBatch) => Submission): Promise<void> {
    const points = await loadTrace(this.options.path);
    this.loopDone = this.run(points, handler).finally(() => this.resolveFinished());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loopDone;
  }

  private async run(points: Point[], handler: (batch: SourceBatch) => Submission): Promise<void> {
    const first = points[0] as Point;
    const last = points[points.length - 1] as Point;
    const stepMs = points.length > 1 ? (last.tsMs - first.tsMs) / (points.length - 1) : 60_000;
    const spanMs = last.tsMs - first.tsMs + stepMs;
    let shiftMs = this.clock.nowMs() - last.tsMs - stepMs;
    let offset = 0;
    const labels = JSON.stringify(this.options.labels);
    const metric = JSON.stringify(this.options.metric);
    do {
      let i = 0;
      while (i < points.length && !this.stopping) {
        const batchStart = (points[i] as Point).tsMs;
        const records: SourceRecord[] = [];
        while (
          i < points.length &&
          (points[i] as Point).tsMs < batchStart + this.options.batchSpanMs
        ) {
          const point = points[i] as Point;
          const tsMs = point.tsMs + shiftMs;
          const json = `{"name":${metric},"labels":${labels},"timestamp":${tsMs},"value":${point.value}}`;
          records.push({
            topic: 'replay',
            partition: 0,
            offset: String(offset++),
            key: null,
            value: Buffer.from(json),
            timestampMs: tsMs,
          });
          i++;
        }
        const verdict = await handler({
          topic: 'replay',
          partition: 0,
          records,
          lagAfter: points.length - i,
          heartbeat: () => Promise.resolve(),
        }).done;
        this.delivered += records.length;
        if (verdict === 'abandon') return;
        await this.clock.sleep(this.options.batchSpanMs / this.options.speed);
      }
      shiftMs += spanMs;
    } while (this.options.loop && !this.stopping);
  }
}

/** Reads a `timestamp,value` CSV (header required; ISO 8601 or epoch s/ms timestamps). */
export async function loadTrace(path: string): Promise<Point[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new HealcastError('FILE_UNREADABLE', `cannot read trace ${path}: ${String(error)}`, {
      retriable: false,
      cause: error,
    });
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const points: Point[] = [];
  for (let n = 1; n < lines.length; n++) {
    const [tsText, valueText] = (lines[n] as string).split(',');
    // The same timestamp rules as training (ISO 8601 with or without zone, epoch s or ms).
    const tsMs = parseTimestamp(tsText ?? '') ?? Number.NaN;
    const value = Number(valueText);
    if (!Number.isFinite(tsMs) || valueText === undefined || !Number.isFinite(value)) {
      throw new HealcastError(
        'FILE_UNREADABLE',
        `${path}:${n + 1}: expected "timestamp,value", got ${JSON.stringify(lines[n])}`,
        {
          retriable: false,
        },
      );
    }
    points.push({ tsMs, value: String(value) });
  }
  if (points.length === 0) {
    throw new HealcastError('FILE_UNREADABLE', `${path}: no data rows after the header`, {
      retriable: false,
    });
  }
  return points;
}
