import {
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  SampleCollector,
  setLabel,
  show,
} from './limits.js';
import type { DecodeContext } from './limits.js';
import type { DecodeReason, DecodeResult } from './sample.js';

const BACKSLASH = 92;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const CARRIAGE_RETURN = 13;
const EQUALS = 61;
const QUOTE = 34;
const HASH = 35;
const MINUS = 45;
const LOWER_I = 105;
const LOWER_U = 117;
const END = -1;

/**
 * Decodes InfluxDB line protocol as Telegraf's Kafka output sends it: one point per line,
 * `measurement[,tag=value...] field=value[,field=value...] [timestamp]`, lines separated by
 * `\n` (a trailing `\r` is ignored), blank lines and `#` comments skipped.
 *
 * - Escapes: `\,` `\ ` `\=` `\\` in measurement, tag keys, tag values and field keys; `\"` and
 *   `\\` inside quoted string field values. Any other backslash is literal.
 * - Field values: floats (`1`, `-1.5`, `2e-3`), integers `12i`, unsigned `12u`, booleans
 *   (`t T true True TRUE` → 1, `f F false False FALSE` → 0) and quoted strings. String fields
 *   are not metrics and are skipped; a line with only string fields is `invalid_value`.
 * - Each numeric field becomes a sample named `<measurement>_<field>`, sanitised to the
 *   Prometheus charset like Telegraf's prometheus serializer: every invalid character becomes
 *   `_`, and a leading digit gets a `_` prefix. Tags become labels, names sanitised the same
 *   way (without `:`); a `__name__` tag is dropped.
 * - Timestamp: an integer whose unit is told by its number of digits (leading zeros and sign
 *   aside): up to 11 digits seconds, up to 14 milliseconds, up to 17 microseconds, more
 *   nanoseconds (the line-protocol default). Each unit thereby covers 1973..5138, so every
 *   timestamp that passes `minTimestampMs` (year 2000 by default) has one reading, whatever
 *   precision Telegraf was set to. Sub-millisecond digits are truncated exactly (the digits
 *   are cut as text; a nanosecond count does not fit a double). A missing timestamp means
 *   `nowMs`.
 *
 * Never throws. A bad line is one problem whose `index` is its 0-based line number in the
 * message (blank and comment lines counted), and the other lines are still used.
 */
export function decodeInflux(text: string, context: DecodeContext): DecodeResult {
  const collector = new SampleCollector(context);
  const length = text.length;
  let dataLines = 0;
  let lineIndex = 0;
  let start = 0;
  while (start < length && !collector.isFull) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    let first = start;
    while (first < end && isBlank(text.charCodeAt(first))) first++;
    let last = end;
    while (last > first && isBlank(text.charCodeAt(last - 1))) last--;
    if (first < last && text.charCodeAt(first) !== HASH) {
      dataLines++;
      decodeLine(new Cursor(text, first, last), lineIndex, context.nowMs, collector);
    }
    start = end + 1;
    lineIndex++;
  }
  if (dataLines === 0) {
    collector.problem('empty_message', 'no data lines (only blank lines and comments)', undefined);
  }
  return collector.result();
}

/** Prometheus metric name for `text`: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeMetricName(text: string): string {
  if (METRIC_NAME_PATTERN.test(text)) return text;
  const replaced = text.replace(/[^a-zA-Z0-9_:]/gu, '_');
  return isDigit(replaced.charCodeAt(0)) ? `_${replaced}` : replaced;
}

/** Prometheus label name for `text`: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeLabelName(text: string): string {
  if (LABEL_NAME_PATTERN.test(text)) return text;
  const replaced = text.replace(/[^a-zA-Z0-9_]/gu, '_');
  return isDigit(replaced.charCodeAt(0)) ? `_${replaced}` : replaced;
}

/** Reads one line between `pos` and `end` (exclusive); the line is already trimmed. */
class Cursor {
  pos: number;

  constructor(
    readonly text: string,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : END;
  }

  /**
   * Reads a measurement, tag key/value or field key up to the first unescaped comma or space
   * (and `=` when `stopAtEquals`), resolving escapes. Slices between escapes so the common,
   * escape-free case costs one substring.
   */
  readIdentifier(stopAtEquals: boolean): string {
    const text = this.text;
    const end = this.end;
    let pos = this.pos;
    let chunkStart = pos;
    let result = '';
    while (pos < end) {
      const code = text.charCodeAt(pos);
      if (code === BACKSLASH && pos + 1 < end) {
        const next = text.charCodeAt(pos + 1);
        if (next === COMMA || next === SPACE || next === EQUALS || next === BACKSLASH) {
          result += text.slice(chunkStart, pos);
          chunkStart = pos + 1;
          pos += 2;
          continue;
        }
      } else if (code === COMMA || code === SPACE || (stopAtEquals && code === EQUALS)) {
        break;
      }
      pos++;
    }
    this.pos = pos;
    return result + text.slice(chunkStart, pos);
  }

  /** Reads an unquoted field value or timestamp up to the next comma or space. */
  readToken(): string {
    const start = this.pos;
    let pos = start;
    while (pos < this.end) {
      const code = this.text.charCodeAt(pos);
      if (code === COMMA || code === SPACE) break;
      pos++;
    }
    this.pos = pos;
    return this.text.slice(start, pos);
  }

  /** Skips a quoted string starting at the opening quote; false when it is unterminated. */
  skipString(): boolean {
    let pos = this.pos + 1;
    while (pos < this.end) {
      const code = this.text.charCodeAt(pos);
      if (code === BACKSLASH) {
        pos += 2;
      } else if (code === QUOTE) {
        this.pos = pos + 1;
        return true;
      } else {
        pos++;
      }
    }
    return false;
  }

  skipSpaces(): void {
    while (this.pos < this.end && this.text.charCodeAt(this.pos) === SPACE) this.pos++;
  }
}

function decodeLine(
  cursor: Cursor,
  index: number,
  nowMs: number,
  collector: SampleCollector,
): void {
  const fail = (reason: DecodeReason, detail: string): void => {
    collector.problem(reason, detail, index);
  };

  const measurement = cursor.readIdentifier(false);
  if (measurement === '') return fail('invalid_line_protocol', 'missing measurement');

  const labels: Record<string, string> = {};
  while (cursor.peek() === COMMA) {
    cursor.pos++;
    const key = cursor.readIdentifier(true);
    if (key === '' || cursor.peek() !== EQUALS) {
      return fail('invalid_line_protocol', `tag set: expected key=value, got key ${show(key)}`);
    }
    cursor.pos++;
    const value = cursor.readIdentifier(false);
    if (value === '') return fail('invalid_line_protocol', `tag ${show(key)}: empty value`);
    const labelName = sanitizeLabelName(key);
    if (labelName === '__name__') continue;
    if (Object.hasOwn(labels, labelName)) {
      return fail('invalid_line_protocol', `tag ${show(key)}: label ${labelName} appears twice`);
    }
    setLabel(labels, labelName, value);
  }
  if (cursor.peek() !== SPACE) {
    return fail('invalid_line_protocol', `expected a space and the field set after the tags`);
  }
  cursor.skipSpaces();

  const fields: [key: string, value: number][] = [];
  let stringFields = 0;
  for (;;) {
    const key = cursor.readIdentifier(true);
    if (key === '' || cursor.peek() !== EQUALS) {
      return fail('invalid_line_protocol', `field set: expected key=value, got key ${show(key)}`);
    }
    cursor.pos++;
    if (cursor.peek() === QUOTE) {
      if (!cursor.skipString()) {
        return fail('invalid_line_protocol', `field ${show(key)}: unterminated string`);
      }
      stringFields++;
    } else {
      const token = cursor.readToken();
      const value = parseFieldValue(token);
      if (value === undefined) {
        return fail(
          'invalid_value',
          `field ${show(key)}: expected a number, integer (i), unsigned (u), boolean or quoted string, got ${show(token)}`,
        );
      }
      fields.push([key, value]);
    }
    const next = cursor.peek();
    if (next === COMMA) {
      cursor.pos++;
    } else if (next === SPACE || next === END) {
      break;
    } else {
      return fail(
        'invalid_line_protocol',
        `field ${show(key)}: unexpected ${show(String.fromCharCode(next))} after the value`,
      );
    }
  }

  let timestampMs = nowMs;
  cursor.skipSpaces();
  if (cursor.peek() !== END) {
    const rest = cursor.text.slice(cursor.pos, cursor.end);
    const parsed = parseTimestampMs(rest);
    if (parsed === undefined) {
      return fail(
        'invalid_timestamp',
        `timestamp: expected an integer at the end of the line, got ${show(rest)}`,
      );
    }
    timestampMs = parsed;
  }

  if (fields.length === 0) {
    return fail(
      'invalid_value',
      `no numeric field (${stringFields} string field(s); strings are not metrics)`,
    );
  }
  let first = true;
  for (const [key, value] of fields) {
    const name = sanitizeMetricName(`${measurement}_${key}`);
    // Each sample owns its label map, so a consumer that mutates one cannot change another.
    const sampleLabels = first ? labels : { ...labels };
    first = false;
    if (!collector.add(name, sampleLabels, timestampMs, value, index)) return;
  }
}

const FLOAT_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_PATTERN = /^[+-]?\d+$/;
const UNSIGNED_PATTERN = /^\d+$/;

/** Numeric value of an unquoted field value, booleans as 1/0; undefined when it is none. */
function parseFieldValue(token: string): number | undefined {
  const last = token.charCodeAt(token.length - 1);
  if (last === LOWER_I) {
    const digits = token.slice(0, -1);
    return INTEGER_PATTERN.test(digits) ? Number(digits) : undefined;
  }
  if (last === LOWER_U) {
    const digits = token.slice(0, -1);
    return UNSIGNED_PATTERN.test(digits) ? Number(digits) : undefined;
  }
  if (FLOAT_PATTERN.test(token)) return Number(token);
  switch (token) {
    case 't':
    case 'T':
    case 'true':
    case 'True':
    case 'TRUE':
      return 1;
    case 'f':
    case 'F':
    case 'false':
    case 'False':
    case 'FALSE':
      return 0;
    default:
      return undefined;
  }
}

const TIMESTAMP_PATTERN = /^-?\d+$/;

/** Epoch ms of a line-protocol timestamp, unit told by digit count (see {@link decodeInflux}). */
function parseTimestampMs(token: string): number | undefined {
  if (!TIMESTAMP_PATTERN.test(token)) return undefined;
  const negative = token.charCodeAt(0) === MINUS;
  let first = negative ? 1 : 0;
  while (first < token.length - 1 && token.charCodeAt(first) === 48) first++;
  const digits = token.slice(first);
  let ms: number;
  if (digits.length <= 11) ms = Number(digits) * 1000;
  else if (digits.length <= 14) ms = Number(digits);
  else if (digits.length <= 17) ms = Number(digits.slice(0, -3));
  else ms = Number(digits.slice(0, -6));
  return negative ? -ms : ms;
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB || code === CARRIAGE_RETURN;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
