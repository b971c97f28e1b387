import { describe, expect, it } from 'vitest';
import { deadLetterReason, decodeMessage } from '../../../src/ingest/decode.js';
import type { DecodeFormat } from '../../../src/ingest/decode.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import { DecodeReasonSchema } from '../../../src/ingest/sample.js';
import type { DecodeProblem, DecodeResult } from '../../../src/ingest/sample.js';

/** 2023-11-14T22:13:20Z */
const NOW = 1_700_000_000_000;
const NS = '1700000000000000000';

function decode(input: string | Uint8Array | null, format: DecodeFormat = 'auto'): DecodeResult {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  return decodeMessage(bytes, { format, nowMs: NOW, limits: DEFAULT_DECODE_LIMITS });
}

function only(reason: DecodeProblem['reason'], detail: string): DecodeResult {
  return { samples: [], problems: [{ reason, detail }] };
}

const UP = { name: 'up', labels: { job: 'x' }, timestampMs: NOW, value: 1 };

describe('decodeMessage: empty input', () => {
  const cases: [string, string | Uint8Array | null, DecodeResult][] = [
    ['null (tombstone)', null, only('empty_message', 'the message has no bytes')],
    ['zero bytes', new Uint8Array(0), only('empty_message', 'the message has no bytes')],
    ['whitespace only', ' \n\t\r\n', only('empty_message', 'the message holds only whitespace')],
    ['BOM only', '\uFEFF', only('empty_message', 'the message holds only whitespace')],
  ];
  it.each(cases)('%s', (_title, input, expected) => {
    expect(decode(input)).toEqual(expected);
  });
});

describe('decodeMessage: format detection', () => {
  const json = '{"name":"up","labels":{"job":"x"},"timestamp":1700000000000,"value":1}';
  const cases: [string, string | Uint8Array, DecodeFormat, DecodeResult][] = [
    ['object → JSON', json, 'auto', { samples: [UP], problems: [] }],
    ['array → JSON', `[${json}]`, 'auto', { samples: [UP], problems: [] }],
    ['leading blanks → JSON', `\n  ${json}`, 'auto', { samples: [UP], problems: [] }],
    ['byte-order mark → JSON', `\uFEFF${json}`, 'auto', { samples: [UP], problems: [] }],
    [
      'anything else → line protocol',
      `up,job=x value=1 ${NS}`,
      'auto',
      {
        samples: [{ ...UP, name: 'up_value' }],
        problems: [],
      },
    ],
    [
      'plain Uint8Array input',
      new TextEncoder().encode(json),
      'auto',
      {
        samples: [UP],
        problems: [],
      },
    ],
    [
      'forced JSON on line protocol',
      'up value=1',
      'json',
      {
        samples: [],
        problems: [
          {
            reason: 'invalid_json',
            detail: `Unexpected token 'u', "up value=1" is not valid JSON`,
          },
        ],
      },
    ],
    [
      'forced line protocol on a brace',
      '{up} value=1',
      'influx',
      {
        samples: [{ name: '_up__value', labels: {}, timestampMs: NOW, value: 1 }],
        problems: [],
      },
    ],
    [
      'multi-byte UTF-8 kept',
      'temp,room=salle\u00e9 c=20',
      'auto',
      {
        samples: [{ name: 'temp_c', labels: { room: 'salle\u00e9' }, timestampMs: NOW, value: 20 }],
        problems: [],
      },
    ],
  ];
  it.each(cases)('%s', (_title, input, format, expected) => {
    expect(decode(input, format)).toEqual(expected);
  });
});

describe('decodeMessage: invalid UTF-8', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array =>
    Buffer.concat(
      parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
    );
  const cases: [string, Uint8Array, DecodeResult][] = [
    [
      'stray byte in JSON',
      bytes('{"name":"', [0xff], '"}'),
      only('invalid_json', 'not valid UTF-8: bad byte sequence at offset 9'),
    ],
    [
      'broken two-byte sequence in line protocol',
      bytes('cpu,host=', [0xc3, 0x28], ' f=1'),
      only('invalid_line_protocol', 'not valid UTF-8: bad byte sequence at offset 9'),
    ],
    [
      'overlong encoding of "/"',
      bytes('cpu f=1 #', [0xc0, 0xaf]),
      only('invalid_line_protocol', 'not valid UTF-8: bad byte sequence at offset 9'),
    ],
    [
      'encoded surrogate',
      bytes('cpu,a=', [0xed, 0xa0, 0x80], ' f=1'),
      only('invalid_line_protocol', 'not valid UTF-8: bad byte sequence at offset 6'),
    ],
    [
      'code point above U+10FFFF',
      bytes('cpu,a=', [0xf4, 0x90, 0x80, 0x80], ' f=1'),
      only('invalid_line_protocol', 'not valid UTF-8: bad byte sequence at offset 6'),
    ],
    [
      'sequence cut at the end',
      bytes('[1,', [0xe2, 0x82]),
      only('invalid_json', 'not valid UTF-8: bad byte sequence at offset 3'),
    ],
  ];
  it.each(cases)('%s', (_title, input, expected) => {
    expect(decode(input)).toEqual(expected);
  });
});

describe('decodeMessage: the same limits for both formats', () => {
  const labels33 = Array.from({ length: 33 }, (_, i) => `l${i}`);
  const cases: [string, string, string, DecodeProblem][] = [
    [
      'label explosion',
      JSON.stringify({
        name: 'm_f',
        labels: Object.fromEntries(labels33.map((l) => [l, 'v'])),
        timestamp: NOW,
        value: 1,
      }),
      `m,${labels33.map((l) => `${l}=v`).join(',')} f=1`,
      { reason: 'too_many_labels', detail: 'labels: 33 labels, at most 32 allowed' },
    ],
    [
      'long label value',
      JSON.stringify({ name: 'm_f', labels: { a: 'x'.repeat(1025) }, timestamp: NOW, value: 1 }),
      `m,a=${'x'.repeat(1025)} f=1`,
      { reason: 'label_too_long', detail: 'labels.a: value is longer than 1024 characters' },
    ],
    [
      'long label name',
      JSON.stringify({ name: 'm_f', labels: { ['k'.repeat(129)]: 'v' }, timestamp: NOW, value: 1 }),
      `m,${'k'.repeat(129)}=v f=1`,
      {
        reason: 'label_too_long',
        detail: `labels: name "${'k'.repeat(79)}… is longer than 128 characters`,
      },
    ],
    [
      'value out of range',
      JSON.stringify({ name: 'm_f', timestamp: NOW, value: -5e100 }),
      'm f=-5e100',
      {
        reason: 'value_out_of_range',
        detail: 'value: -5e+100 is beyond ±1e+100 (too large for variance arithmetic)',
      },
    ],
    [
      'future timestamp',
      JSON.stringify({ name: 'm_f', timestamp: NOW + 3_600_000, value: 1 }),
      `m f=1 ${NOW + 3_600_000}`,
      {
        reason: 'timestamp_in_future',
        detail: 'timestamp: 1700003600000 ms is more than 300000 ms after now',
      },
    ],
    [
      'ancient timestamp',
      JSON.stringify({ name: 'm_f', timestamp: 915_148_800_000, value: 1 }),
      'm f=1 915148800000',
      {
        reason: 'invalid_timestamp',
        detail:
          'timestamp: 915148800000 ms is before the minimum 946684800000 ms (seconds sent as milliseconds?)',
      },
    ],
  ];
  it.each(cases)('%s', (_title, json, line, problem) => {
    expect(decode(json)).toEqual({ samples: [], problems: [problem] });
    expect(decode(line)).toEqual({ samples: [], problems: [{ ...problem, index: 0 }] });
  });

  it('applies custom limits', () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxLabels: 1, maxFutureSkewMs: 0 };
    const options = { format: 'auto' as const, nowMs: NOW, limits };
    expect(decodeMessage(Buffer.from('m,a=1,b=2 f=1'), options).problems[0]?.reason).toBe(
      'too_many_labels',
    );
    expect(decodeMessage(Buffer.from(`m f=1 ${NOW + 1}`), options).problems[0]?.reason).toBe(
      'timestamp_in_future',
    );
  });
});

describe('deadLetterReason', () => {
  const cases: [string, string, ReturnType<typeof deadLetterReason>][] = [
    ['clean message', 'm f=1', undefined],
    ['wholly bad message: first reason', 'm f=x\nm f=1e300', 'invalid_value'],
    ['partly bad message', 'm f=1\nm f=x', 'partially_invalid'],
    ['empty message', '', 'empty_message'],
  ];
  it.each(cases)('%s', (_title, input, reason) => {
    expect(deadLetterReason(decode(input))).toBe(reason);
  });
});

describe('decodeMessage never throws', () => {
  /** Deterministic xorshift32 so a failure reproduces. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4_294_967_296;
    };
  }
  const fragments = [
    '{',
    '}',
    '[',
    ']',
    '"',
    ',',
    ':',
    '=',
    ' ',
    '\\',
    '\n',
    '#',
    'i',
    'u',
    't',
    'name',
    'labels',
    'value',
    'timestamp',
    '__name__',
    '__proto__',
    'NaN',
    '+Inf',
    '1e400',
    '-',
    '0',
    '1700000000',
    'cpu',
    'é',
    '\u0000',
    '\uD800',
  ];

  it('on 3000 random messages, and every reason it reports is a known one', () => {
    const next = random(0x5eed);
    const reasons = new Set(DecodeReasonSchema.options);
    for (let round = 0; round < 3000; round++) {
      const parts: string[] = [];
      const count = Math.floor(next() * 40);
      for (let i = 0; i < count; i++) {
        parts.push(fragments[Math.floor(next() * fragments.length)] ?? '');
      }
      const bytes = Buffer.from(parts.join(''));
      if (next() < 0.2 && bytes.length > 0) bytes[Math.floor(next() * bytes.length)] = 0xff;
      const result = decode(bytes);
      for (const problem of result.problems) expect(reasons.has(problem.reason)).toBe(true);
      expect(result.samples.length + result.problems.length).toBeGreaterThan(0);
    }
  });
});
