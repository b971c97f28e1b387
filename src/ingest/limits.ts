import { z } from 'zod';
import type { DecodeProblem, DecodeReason, DecodeResult, MetricSample } from './sample.js';

/**
 * Bounds every decoded sample must respect, whatever its wire format. They protect memory
 * (label explosion, huge batches) and the numerics downstream (EWMA variance of values above
 * ~1e154 overflows to Infinity), and catch producers with a wrong clock or time unit.
 * Lengths are counted in UTF-16 code units (JavaScript string length).
 */
export const DecodeLimitsSchema = z.strictObject({
  /** Most labels one sample may carry (`__name__` excluded); more → `too_many_labels`. */
  maxLabels: z.number().int().positive().default(32),
  /** Longest label name; longer → `label_too_long`. */
  maxLabelNameLength: z.number().int().positive().default(128),
  /** Longest label value; longer → `label_too_long`. */
  maxLabelValueLength: z.number().int().positive().default(1024),
  /** Longest metric name; longer → `invalid_name`. */
  maxNameLength: z.number().int().positive().default(256),
  /**
   * Most items one message may hold: samples kept plus items rejected with a problem, so a
   * message of garbage is bounded too. Items past the limit are dropped → `too_many_samples`.
   */
  maxSamplesPerMessage: z.number().int().positive().default(10_000),
  /**
   * Largest accepted absolute value; larger finite values → `value_out_of_range`. The square of
   * a value enters the EWMA variance, so values near 1e154 and above would overflow it.
   */
  maxAbsValue: z.number().positive().default(1e100),
  /** How far past `nowMs` a timestamp may lie, in ms (clock skew); later → `timestamp_in_future`. */
  maxFutureSkewMs: z.number().int().nonnegative().default(300_000),
  /**
   * Earliest accepted timestamp, epoch ms (default 2000-01-01T00:00:00Z); earlier →
   * `invalid_timestamp`. Catches seconds sent where milliseconds were expected.
   */
  minTimestampMs: z.number().int().default(946_684_800_000),
});
export type DecodeLimits = z.infer<typeof DecodeLimitsSchema>;

/** The default limits, frozen. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze(DecodeLimitsSchema.parse({}));

/** What every decoder needs besides the bytes: the current time (epoch ms) and the limits. */
export interface DecodeContext {
  /** Current time, Unix epoch milliseconds; used for missing timestamps and the future check. */
  readonly nowMs: number;
  readonly limits: DecodeLimits;
}

/** Prometheus metric name charset. */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label name charset. */
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Sets one label on a plain-object label map. A label called `__proto__` would silently
 * vanish on plain assignment (it hits the prototype setter), so it is defined as an own
 * property: the collector then sees it and rejects it as reserved.
 */
export function setLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    labels[name] = value;
  }
}

const MAX_SHOWN_LENGTH = 80;

/**
 * Renders a bad input value for a problem detail: JSON-quoted so strings are visibly strings,
 * and truncated because details end up in dead-letter headers and logs.
 */
export function show(value: unknown): string {
  let text: string | undefined;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    text = String(value);
  } else if (value === undefined) {
    text = 'undefined';
  } else {
    try {
      text = JSON.stringify(value);
    } catch {
      // Circular or otherwise unserialisable: the type tag below still says what it was.
    }
  }
  text ??= Object.prototype.toString.call(value);
  return text.length > MAX_SHOWN_LENGTH ? `${text.slice(0, MAX_SHOWN_LENGTH)}…` : text;
}

/**
 * Collects the samples and problems of one message and applies the {@link DecodeLimits}, so
 * every wire format is held to exactly the same rules. Decoders hand it candidate samples;
 * it either keeps them or records why not.
 */
export class SampleCollector {
  readonly samples: MetricSample[] = [];
  readonly problems: DecodeProblem[] = [];
  private readonly limits: DecodeLimits;
  private readonly latestMs: number;
  private full = false;

  constructor(context: DecodeContext) {
    this.limits = context.limits;
    this.latestMs = context.nowMs + context.limits.maxFutureSkewMs;
  }

  /** True once `maxSamplesPerMessage` items were seen: decoders stop reading the message. */
  get isFull(): boolean {
    return this.full;
  }

  /**
   * Records a problem for one item; `index` is its array index or line, if any. Returns false
   * (and records `too_many_samples` instead) when the message is already full.
   */
  problem(reason: DecodeReason, detail: string, index: number | undefined): boolean {
    if (!this.hasRoom(index)) return false;
    this.push(reason, detail, index);
    return true;
  }

  /**
   * Checks a candidate sample against the limits and keeps it, or records one problem for it.
   * `labels` must already be free of `__name__`. An infinite `value` is taken as an overflow
   * (`value_out_of_range`); explicit ±Inf markers are the decoder's `non_finite_value`.
   * Returns false when the message is already full: the candidate is dropped, a single
   * `too_many_samples` problem is recorded, and the caller should stop decoding.
   */
  add(
    name: string,
    labels: Record<string, string>,
    timestampMs: number,
    value: number,
    index: number | undefined,
  ): boolean {
    if (!this.hasRoom(index)) return false;
    const problem = this.check(name, labels, timestampMs, value);
    if (problem !== undefined) {
      this.push(problem[0], problem[1], index);
    } else {
      this.samples.push({ name, labels, timestampMs, value });
    }
    return true;
  }

  /** The decoded samples and problems so far. */
  result(): DecodeResult {
    return { samples: this.samples, problems: this.problems };
  }

  private hasRoom(index: number | undefined): boolean {
    if (this.full) return false;
    const max = this.limits.maxSamplesPerMessage;
    if (this.samples.length + this.problems.length < max) return true;
    this.full = true;
    this.push(
      'too_many_samples',
      `more than ${max} items in one message; this one and all after it were dropped`,
      index,
    );
    return false;
  }

  private push(reason: DecodeReason, detail: string, index: number | undefined): void {
    this.problems.push(index === undefined ? { reason, detail } : { reason, detail, index });
  }

  private check(
    name: string,
    labels: Record<string, string>,
    timestampMs: number,
    value: number,
  ): [DecodeReason, string] | undefined {
    const limits = this.limits;
    if (name.length > limits.maxNameLength) {
      return ['invalid_name', `name: longer than ${limits.maxNameLength} characters`];
    }
    if (!METRIC_NAME_PATTERN.test(name)) {
      return ['invalid_name', `name: ${show(name)} does not match ${METRIC_NAME_PATTERN.source}`];
    }
    let count = 0;
    for (const labelName in labels) {
      count++;
      if (labelName.length > limits.maxLabelNameLength) {
        return [
          'label_too_long',
          `labels: name ${show(labelName)} is longer than ${limits.maxLabelNameLength} characters`,
        ];
      }
      if (!LABEL_NAME_PATTERN.test(labelName)) {
        return [
          'invalid_name',
          `labels: name ${show(labelName)} does not match ${LABEL_NAME_PATTERN.source}`,
        ];
      }
      // Prometheus reserves `__` names for internal use; refusing them also keeps names such
      // as `__proto__` away from plain-object label maps.
      if (labelName.charCodeAt(0) === 95 && labelName.charCodeAt(1) === 95) {
        return ['invalid_name', `labels.${labelName}: names starting with "__" are reserved`];
      }
      const labelValue = labels[labelName] ?? '';
      if (labelValue.length > limits.maxLabelValueLength) {
        return [
          'label_too_long',
          `labels.${labelName}: value is longer than ${limits.maxLabelValueLength} characters`,
        ];
      }
    }
    if (count > limits.maxLabels) {
      return ['too_many_labels', `labels: ${count} labels, at most ${limits.maxLabels} allowed`];
    }
    // NaN passes on purpose: it is the Prometheus staleness marker.
    if (value > limits.maxAbsValue || value < -limits.maxAbsValue) {
      return [
        'value_out_of_range',
        `value: ${show(value)} is beyond ±${limits.maxAbsValue} (too large for variance arithmetic)`,
      ];
    }
    if (!Number.isFinite(timestampMs)) {
      return ['invalid_timestamp', `timestamp: ${show(timestampMs)} is not a finite number`];
    }
    return timestampProblem('timestamp', timestampMs, limits, this.latestMs);
  }
}

/**
 * A finite event time outside what the limits accept, as [reason, message naming `field`]:
 * before `minTimestampMs` (seconds sent as milliseconds, most often) or after `latestMs`
 * (now plus the allowed clock skew). Shared by metric samples and deployment events.
 */
export function timestampProblem(
  field: string,
  timestampMs: number,
  limits: Pick<DecodeLimits, 'minTimestampMs' | 'maxFutureSkewMs'>,
  latestMs: number,
): [DecodeReason, string] | undefined {
  if (timestampMs < limits.minTimestampMs) {
    return [
      'invalid_timestamp',
      `${field}: ${timestampMs} ms is before the minimum ${limits.minTimestampMs} ms (seconds sent as milliseconds?)`,
    ];
  }
  if (timestampMs > latestMs) {
    return [
      'timestamp_in_future',
      `${field}: ${timestampMs} ms is more than ${limits.maxFutureSkewMs} ms after now`,
    ];
  }
  return undefined;
}
