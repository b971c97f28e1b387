import { z } from 'zod';

/**
 * One metric observation after decoding, whatever the wire format was.
 * `labels` never contains `__name__`; `timestampMs` is Unix epoch milliseconds.
 * `value` may be NaN (Prometheus staleness marker) — the pipeline decides what that means.
 */
export const MetricSampleSchema = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  timestampMs: z.number(),
  value: z.number(),
});
export type MetricSample = z.infer<typeof MetricSampleSchema>;

/** Why a message (or part of it) could not be used. Stable: it is a metric label value. */
export const DecodeReasonSchema = z.enum([
  'empty_message',
  'invalid_json',
  'invalid_schema',
  'invalid_line_protocol',
  'invalid_name',
  'invalid_value',
  'non_finite_value',
  'value_out_of_range',
  'invalid_timestamp',
  'timestamp_in_future',
  'too_many_labels',
  'label_too_long',
  'too_many_samples',
  'partially_invalid',
]);
export type DecodeReason = z.infer<typeof DecodeReasonSchema>;

/** One problem found while decoding: the reason, a human-readable detail, and where. */
export interface DecodeProblem {
  readonly reason: DecodeReason;
  readonly detail: string;
  /** Index of the bad item in an array message or line in a line-protocol message. */
  readonly index?: number;
}

/**
 * Result of decoding one message. Decoders never throw on bad input: the good samples are
 * returned together with the problems, so a partly bad message is used and still
 * dead-lettered (with reason `partially_invalid`) so nothing is silently dropped.
 */
export interface DecodeResult {
  readonly samples: MetricSample[];
  readonly problems: DecodeProblem[];
}
