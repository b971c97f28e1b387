import { decodeMessage, type DecodeFormat } from '../ingest/decode.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../ingest/limits.js';
import { seriesFromPoints, seriesKey, type ParsedTrace, type TraceOptions } from './traces.js';

/**
 * Training data from the metrics topic: the raw messages a replay reads (see
 * src/adapters/kafka/kafkaTopicReplay.ts) go through the worker's own decoder, so training
 * sees exactly the samples the worker would score, and are grouped into series by name and
 * labels. Pure: bytes and the current time in, series out.
 */
export class SampleCollector {
  private readonly groups = new Map<string, { ts: number[]; vs: number[] }>();
  /** Messages read. */
  messages = 0;
  /** Samples kept. */
  samples = 0;
  /** Messages that could not be used, or only partly (by decode reason). */
  readonly problems = new Map<string, number>();

  constructor(
    private readonly options: {
      readonly format?: DecodeFormat;
      readonly limits?: DecodeLimits;
      /** Only samples of these metric names (all when unset or empty). */
      readonly metrics?: readonly string[];
    } = {},
  ) {}

  /**
   * Decodes one message value and adds its samples. `nowMs` is the decoder's "now" (samples
   * later than now plus the allowed skew are refused, as in the worker). Non-finite values
   * (NaN is Prometheus' staleness marker) are kept as missing steps.
   */
  add(bytes: Uint8Array | null, nowMs: number): void {
    this.messages++;
    const result = decodeMessage(bytes, {
      format: this.options.format ?? 'auto',
      nowMs,
      limits: this.options.limits ?? DEFAULT_DECODE_LIMITS,
    });
    for (const problem of result.problems) {
      this.problems.set(problem.reason, (this.problems.get(problem.reason) ?? 0) + 1);
    }
    const metrics = this.options.metrics;
    for (const sample of result.samples) {
      if (metrics && metrics.length > 0 && !metrics.includes(sample.name)) continue;
      const key = seriesKey(sample.name, sample.labels);
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = { ts: [], vs: [] }));
      group.ts.push(sample.timestampMs);
      group.vs.push(sample.value);
      this.samples++;
    }
  }

  /** Number of distinct series seen. */
  get seriesCount(): number {
    return this.groups.size;
  }

  /**
   * The collected series, regularised like file traces (median step, fill, split at long
   * gaps). Series with too few steps are left out with a note rather than failing the whole
   * topic: a topic always holds some series that started a minute ago.
   */
  toTrace(source: string, options: TraceOptions): ParsedTrace {
    const notes: string[] = [
      `${source}: ${this.messages} messages, ${this.samples} samples, ${this.groups.size} series`,
    ];
    if (this.problems.size > 0) {
      notes.push(
        `${source}: decode problems ${[...this.problems].map(([r, n]) => `${r}=${n}`).join(', ')}`,
      );
    }
    const series = [];
    for (const [key, g] of this.groups) {
      if (options.columns && !options.columns.includes(key)) continue;
      try {
        const one = seriesFromPoints(
          source,
          new Map([[key, { timestamps: g.ts, values: g.vs }]]),
          options,
        );
        series.push(...one.series);
        notes.push(...one.notes);
      } catch (error) {
        notes.push(`${key}: left out (${(error as Error).message})`);
      }
    }
    return { source, series, notes };
  }
}
