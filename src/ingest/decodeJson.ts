import { z } from 'zod';
import { SampleCollector, setLabel, show } from './limits.js';
import type { DecodeContext } from './limits.js';
import type { DecodeResult } from './sample.js';

/**
 * One JSON sample on the wire. A message is one such object or an array of them.
 * Two producers are covered by the same shape:
 * - canonical: `{"name":"up","labels":{"job":"x"},"timestamp":1700000000000,"value":1}`, the
 *   timestamp as epoch milliseconds (number or digit string) or an RFC 3339 string;
 * - prometheus-kafka-adapter: `{"timestamp":"2017-01-01T00:00:00Z","value":"9876543210",
 *   "name":"up","labels":{"__name__":"up","job":"x"}}`, the value as a Go-formatted float
 *   string (`"NaN"`, `"+Inf"`, `"-Inf"` included) and the name possibly only in
 *   `labels.__name__`.
 * Unknown fields are ignored. Content rules the shape cannot say (name charset, numeric
 * strings, time bounds) are checked by {@link decodeJson}.
 */
export const JsonSampleSchema = z.object(
  {
    name: z.string({ error: 'expected a string' }).optional(),
    labels: z
      .record(z.string(), z.string({ error: 'expected a string' }), {
        error: 'expected an object of string values',
      })
      .optional(),
    timestamp: z.union([z.number(), z.string()], {
      error: 'expected epoch milliseconds or an RFC 3339 string',
    }),
    value: z.union([z.number(), z.string()], { error: 'expected a number or numeric string' }),
  },
  { error: 'expected an object' },
);
export type JsonSample = z.infer<typeof JsonSampleSchema>;

const MAX_JSON_ERROR_LENGTH = 200;

/**
 * Decodes a JSON message (see {@link JsonSampleSchema}) into samples. Never throws: every bad
 * item becomes a problem carrying its array index (none for a single object), and the good
 * items of a partly bad array are kept. `NaN` values are kept (staleness marker); `±Inf`
 * strings are `non_finite_value`; numbers too large for a double are `value_out_of_range`.
 * Fractional millisecond timestamps are floored. A label with an empty value is dropped, as
 * Prometheus treats it as absent.
 */
export function decodeJson(text: string, context: DecodeContext): DecodeResult {
  const collector = new SampleCollector(context);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    collector.problem('invalid_json', truncate(message, MAX_JSON_ERROR_LENGTH), undefined);
    return collector.result();
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) {
      collector.problem('empty_message', 'the JSON array is empty', undefined);
    }
    for (let index = 0; index < parsed.length && !collector.isFull; index++) {
      decodeItem(parsed[index], index, collector);
    }
  } else {
    decodeItem(parsed, undefined, collector);
  }
  return collector.result();
}

function decodeItem(item: unknown, index: number | undefined, collector: SampleCollector): void {
  // The hand check below accepts what JsonSampleSchema accepts (a test keeps them in step) but
  // is several times faster; zod only runs to explain a rejection. One deliberate difference:
  // numbers that overflowed to Infinity in JSON.parse pass here and become value_out_of_range
  // or invalid_timestamp, which says more than a type error would.
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    schemaProblem(item, index, collector);
    return;
  }
  const object = item as Record<string, unknown>;
  const name = object['name'];
  const rawLabels = object['labels'];
  const timestamp = object['timestamp'];
  const value = object['value'];
  if (
    (name !== undefined && typeof name !== 'string') ||
    (rawLabels !== undefined &&
      (typeof rawLabels !== 'object' || rawLabels === null || Array.isArray(rawLabels))) ||
    (typeof timestamp !== 'number' && typeof timestamp !== 'string') ||
    (typeof value !== 'number' && typeof value !== 'string')
  ) {
    schemaProblem(item, index, collector);
    return;
  }

  const labels: Record<string, string> = {};
  let nameLabel: string | undefined;
  if (rawLabels !== undefined) {
    const source = rawLabels as Record<string, unknown>;
    for (const labelName of Object.keys(source)) {
      const labelValue = source[labelName];
      if (typeof labelValue !== 'string') {
        schemaProblem(item, index, collector);
        return;
      }
      if (labelName === '__name__') {
        nameLabel = labelValue;
      } else if (labelValue !== '') {
        setLabel(labels, labelName, labelValue);
      }
    }
  }

  const metricName = name ?? nameLabel;
  if (metricName === undefined) {
    collector.problem('invalid_schema', 'name: missing, and labels.__name__ is absent', index);
    return;
  }
  if (nameLabel !== undefined && name !== undefined && nameLabel !== name) {
    collector.problem(
      'invalid_name',
      `name: ${show(name)} differs from labels.__name__ ${show(nameLabel)}`,
      index,
    );
    return;
  }

  let sampleValue: number;
  if (typeof value === 'number') {
    sampleValue = value;
  } else {
    const parsed = parseValueString(value);
    if (parsed === undefined) {
      collector.problem(
        'invalid_value',
        `value: expected a number or numeric string, got ${show(value)}`,
        index,
      );
      return;
    }
    if (parsed.explicitInfinity) {
      collector.problem('non_finite_value', `value: ${show(value)} is not finite`, index);
      return;
    }
    sampleValue = parsed.value;
  }

  let timestampMs: number;
  if (typeof timestamp === 'number') {
    timestampMs = Math.floor(timestamp);
  } else {
    const parsed = parseTimestampString(timestamp);
    if (parsed === undefined) {
      collector.problem(
        'invalid_timestamp',
        `timestamp: expected epoch milliseconds or an RFC 3339 date-time, got ${show(timestamp)}`,
        index,
      );
      return;
    }
    timestampMs = parsed;
  }

  collector.add(metricName, labels, timestampMs, sampleValue, index);
}

function schemaProblem(item: unknown, index: number | undefined, collector: SampleCollector) {
  const result = JsonSampleSchema.safeParse(item, { reportInput: true });
  const issue = result.success ? undefined : result.error.issues[0];
  if (issue === undefined) {
    collector.problem('invalid_schema', 'does not match the sample schema', index);
    return;
  }
  const path = issue.path.map(String).join('.');
  const prefix = path === '' ? '' : `${path}: `;
  const input: unknown = issue.input;
  const detail =
    input === undefined && path !== ''
      ? `${prefix}missing; ${issue.message}`
      : `${prefix}${issue.message}, got ${show(input)}`;
  collector.problem('invalid_schema', detail, index);
}

/** Decimal float syntax accepted in value strings (what Go's strconv.FormatFloat emits). */
const DECIMAL_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

interface ParsedValue {
  readonly value: number;
  /** True for spelled-out infinities (`"+Inf"`), false for overflowing digits (`"1e400"`). */
  readonly explicitInfinity: boolean;
}

/**
 * Parses a sample value string as Go's `strconv.ParseFloat` would for the strings Prometheus
 * produces: decimal floats, and case-insensitive `NaN`, `Inf`, `Infinity` with optional sign.
 */
function parseValueString(text: string): ParsedValue | undefined {
  if (DECIMAL_PATTERN.test(text)) return { value: Number(text), explicitInfinity: false };
  switch (text.toLowerCase()) {
    case 'nan':
      return { value: Number.NaN, explicitInfinity: false };
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return { value: Number.POSITIVE_INFINITY, explicitInfinity: true };
    case '-inf':
    case '-infinity':
      return { value: Number.NEGATIVE_INFINITY, explicitInfinity: true };
    default:
      return undefined;
  }
}

const DIGITS_PATTERN = /^\d+$/;

/** Epoch milliseconds as digits, or an RFC 3339 time with a zone; undefined otherwise. */
export function parseTimestampString(text: string): number | undefined {
  if (DIGITS_PATTERN.test(text)) return Number(text);
  return parseRfc3339Ms(text);
}

const RFC3339_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const MS_PER_DAY = 86_400_000;

/**
 * Parses an RFC 3339 date-time (`2017-01-01T00:00:00Z`, `2017-01-01T01:00:00.123+01:00`)
 * into Unix epoch milliseconds, truncating sub-millisecond digits. Returns undefined for
 * anything else, including out-of-range fields and a missing zone offset (a local time
 * names no instant). Leap seconds (`:60`) are refused, as Go's time.Parse does. Written by
 * hand because the core may not use `Date`.
 */
export function parseRfc3339Ms(text: string): number | undefined {
  const match = RFC3339_PATTERN.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = match[7];
  const milliseconds = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  const sign = match[8];
  if (sign !== undefined) {
    const offsetHours = Number(match[9]);
    const offsetMins = Number(match[10]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    milliseconds
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
