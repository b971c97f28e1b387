import { z } from 'zod';
import { decodeInflux } from './decodeInflux.js';
import { decodeJson } from './decodeJson.js';
import type { DecodeContext } from './limits.js';
import type { DecodeReason, DecodeResult } from './sample.js';

/**
 * Wire format of the metric topic: `json` (see `JsonSampleSchema`), `influx` (line protocol,
 * as Telegraf sends it) or `auto`, which picks per message (see {@link decodeMessage}).
 */
export const DecodeFormatSchema = z.enum(['auto', 'json', 'influx']);
export type DecodeFormat = z.infer<typeof DecodeFormatSchema>;

/** Options of {@link decodeMessage}: the format, the current time (epoch ms) and the limits. */
export interface DecodeOptions extends DecodeContext {
  readonly format: DecodeFormat;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

// fatal: a replacement character would hide corruption and could merge distinct label values.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one Kafka message value into metric samples. Never throws: bad input comes back as
 * problems next to whatever samples were good.
 *
 * - `null`, zero bytes or only whitespace → `empty_message`.
 * - `auto` reads JSON when the first byte that is not whitespace (or a UTF-8 byte-order mark)
 *   is `{` or `[`, line protocol otherwise — a line-protocol measurement cannot start with
 *   either in practice.
 * - Invalid UTF-8 → `invalid_json` or `invalid_line_protocol` (by the chosen format), with the
 *   offset of the first bad byte.
 * - The {@link DecodeOptions.limits} apply to every sample of both formats alike.
 */
export function decodeMessage(
  bytes: Uint8Array | Buffer | null,
  options: DecodeOptions,
): DecodeResult {
  if (bytes === null || bytes.length === 0) {
    return failure('empty_message', 'the message has no bytes');
  }
  const first = firstSignificantByte(bytes);
  if (first === undefined) {
    return failure('empty_message', 'the message holds only whitespace');
  }
  const format =
    options.format !== 'auto'
      ? options.format
      : first === OPEN_BRACE || first === OPEN_BRACKET
        ? 'json'
        : 'influx';
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    return failure(
      format === 'json' ? 'invalid_json' : 'invalid_line_protocol',
      `not valid UTF-8: bad byte sequence at offset ${offset}`,
    );
  }
  return format === 'json' ? decodeJson(text, options) : decodeInflux(text, options);
}

/**
 * The one reason a decoded message is dead-lettered under, or undefined when it decoded
 * cleanly: `partially_invalid` when some samples were still used, otherwise the reason of the
 * first problem.
 */
export function deadLetterReason(result: DecodeResult): DecodeReason | undefined {
  const first = result.problems[0];
  if (first === undefined) return undefined;
  return result.samples.length > 0 ? 'partially_invalid' : first.reason;
}

function failure(reason: DecodeReason, detail: string): DecodeResult {
  return { samples: [], problems: [{ reason, detail }] };
}

/** First byte that is not ASCII whitespace or part of a leading UTF-8 BOM. */
function firstSignificantByte(bytes: Uint8Array): number | undefined {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  for (; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte;
  }
  return undefined;
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence (overlong forms, surrogates
 * and code points above U+10FFFF included), or -1 if there is none. Only runs after
 * TextDecoder refused the bytes, to say where.
 */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      length = 4;
      min = 0x10000;
    } else {
      return i;
    }
    let codePoint = b0 & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (b & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      return i;
    }
    i += length;
  }
  return -1;
}
