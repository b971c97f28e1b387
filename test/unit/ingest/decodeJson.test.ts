import { describe, expect, it } from 'vitest';
import { JsonSampleSchema, decodeJson, parseRfc3339Ms } from '../../../src/ingest/decodeJson.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { DecodeLimits } from '../../../src/ingest/limits.js';
import type { DecodeResult } from '../../../src/ingest/sample.js';

/** 2023-11-14T22:13:20Z */
const NOW = 1_700_000_000_000;
const context = { nowMs: NOW, limits: DEFAULT_DECODE_LIMITS };

function decode(value: unknown, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return decodeJson(text, { nowMs: NOW, limits });
}

function ok(
  name: string,
  labels: Record<string, string>,
  timestampMs: number,
  value: number,
): DecodeResult {
  return { samples: [{ name, labels, timestampMs, value }], problems: [] };
}

function bad(reason: string, detail: string): DecodeResult {
  return { samples: [], problems: [{ reason, detail }] } as DecodeResult;
}

describe('decodeJson: one object', () => {
  const cases: [string, unknown, DecodeResult][] = [
    // --- canonical shape ---
    [
      'canonical',
      { name: 'up', labels: { job: 'api' }, timestamp: NOW, value: 1 },
      ok('up', { job: 'api' }, NOW, 1),
    ],
    ['labels optional', { name: 'up', timestamp: NOW, value: 0 }, ok('up', {}, NOW, 0)],
    [
      'unknown fields ignored',
      { name: 'up', timestamp: NOW, value: 2, unit: 's' },
      ok('up', {}, NOW, 2),
    ],
    ['fractional ms floored', { name: 'up', timestamp: NOW + 0.9, value: 1 }, ok('up', {}, NOW, 1)],
    [
      'digit-string timestamp',
      { name: 'up', timestamp: String(NOW), value: 1 },
      ok('up', {}, NOW, 1),
    ],
    [
      'RFC 3339 timestamp with offset and fraction',
      { name: 'up', timestamp: '2023-11-14T23:13:20.250+01:00', value: 1 },
      ok('up', {}, NOW + 250, 1),
    ],
    [
      'name with colons',
      { name: 'job:rate:5m', timestamp: NOW, value: 1 },
      ok('job:rate:5m', {}, NOW, 1),
    ],
    [
      'empty label value dropped (Prometheus: same as absent)',
      { name: 'up', labels: { job: 'api', zone: '' }, timestamp: NOW, value: 1 },
      ok('up', { job: 'api' }, NOW, 1),
    ],
    [
      'negative exponent string value',
      { name: 'up', timestamp: NOW, value: '-1.5e3' },
      ok('up', {}, NOW, -1500),
    ],
    ['value at the limit', { name: 'up', timestamp: NOW, value: 1e100 }, ok('up', {}, NOW, 1e100)],
    [
      'timestamp at the future limit',
      { name: 'up', timestamp: NOW + 300_000, value: 1 },
      ok('up', {}, NOW + 300_000, 1),
    ],
    [
      'timestamp at the minimum',
      { name: 'up', timestamp: 946_684_800_000, value: 1 },
      ok('up', {}, 946_684_800_000, 1),
    ],
    // --- prometheus-kafka-adapter shape ---
    [
      'adapter: name in both places, value as string',
      {
        timestamp: '2017-01-01T00:00:00Z',
        value: '9876543210',
        name: 'up',
        labels: { __name__: 'up', job: 'x' },
      },
      ok('up', { job: 'x' }, 1_483_228_800_000, 9_876_543_210),
    ],
    [
      'adapter: name only in labels.__name__',
      { timestamp: '2017-01-01T00:00:00Z', value: '1', labels: { __name__: 'up', job: 'x' } },
      ok('up', { job: 'x' }, 1_483_228_800_000, 1),
    ],
    [
      'adapter: NaN is the staleness marker and is kept',
      { timestamp: '2017-01-01T00:00:00Z', value: 'NaN', labels: { __name__: 'up' } },
      ok('up', {}, 1_483_228_800_000, NaN),
    ],
    ['lower-case nan kept', { name: 'up', timestamp: NOW, value: 'nan' }, ok('up', {}, NOW, NaN)],

    // --- shape problems (invalid_schema) ---
    ['not an object', '"up"', bad('invalid_schema', 'expected an object, got "up"')],
    ['null', 'null', bad('invalid_schema', 'expected an object, got null')],
    [
      'timestamp missing',
      { name: 'up', value: 1 },
      bad(
        'invalid_schema',
        'timestamp: missing; expected epoch milliseconds or an RFC 3339 string',
      ),
    ],
    [
      'value missing',
      { name: 'up', timestamp: NOW },
      bad('invalid_schema', 'value: missing; expected a number or numeric string'),
    ],
    [
      'value of the wrong type',
      { name: 'up', timestamp: NOW, value: true },
      bad('invalid_schema', 'value: expected a number or numeric string, got true'),
    ],
    [
      'name of the wrong type',
      { name: 5, timestamp: NOW, value: 1 },
      bad('invalid_schema', 'name: expected a string, got 5'),
    ],
    [
      'labels not an object',
      { name: 'up', labels: ['a'], timestamp: NOW, value: 1 },
      bad('invalid_schema', 'labels: expected an object of string values, got ["a"]'),
    ],
    [
      'label value not a string',
      { name: 'up', labels: { cpu: 0 }, timestamp: NOW, value: 1 },
      bad('invalid_schema', 'labels.cpu: expected a string, got 0'),
    ],
    [
      'no name anywhere',
      { labels: { job: 'x' }, timestamp: NOW, value: 1 },
      bad('invalid_schema', 'name: missing, and labels.__name__ is absent'),
    ],

    // --- names ---
    [
      'name outside the Prometheus charset',
      { name: 'http-requests', timestamp: NOW, value: 1 },
      bad('invalid_name', 'name: "http-requests" does not match ^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
    ],
    [
      'name starting with a digit',
      { name: '1up', timestamp: NOW, value: 1 },
      bad('invalid_name', 'name: "1up" does not match ^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
    ],
    [
      'empty name',
      { name: '', timestamp: NOW, value: 1 },
      bad('invalid_name', 'name: "" does not match ^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
    ],
    [
      'name too long',
      { name: 'a'.repeat(257), timestamp: NOW, value: 1 },
      bad('invalid_name', 'name: longer than 256 characters'),
    ],
    [
      'name and labels.__name__ disagree',
      { name: 'up', labels: { __name__: 'down' }, timestamp: NOW, value: 1 },
      bad('invalid_name', 'name: "up" differs from labels.__name__ "down"'),
    ],
    [
      'label name outside the charset',
      { name: 'up', labels: { 'pod-name': 'a' }, timestamp: NOW, value: 1 },
      bad('invalid_name', 'labels: name "pod-name" does not match ^[a-zA-Z_][a-zA-Z0-9_]*$'),
    ],
    [
      'label name with a colon',
      { name: 'up', labels: { 'a:b': 'a' }, timestamp: NOW, value: 1 },
      bad('invalid_name', 'labels: name "a:b" does not match ^[a-zA-Z_][a-zA-Z0-9_]*$'),
    ],
    [
      'reserved label name',
      { name: 'up', labels: { __meta_x: 'a' }, timestamp: NOW, value: 1 },
      bad('invalid_name', 'labels.__meta_x: names starting with "__" are reserved'),
    ],
    [
      '__proto__ label is seen and refused, not silently lost',
      '{"name":"up","labels":{"__proto__":"x"},"timestamp":1700000000000,"value":1}',
      bad('invalid_name', 'labels.__proto__: names starting with "__" are reserved'),
    ],

    // --- label limits ---
    [
      'label name too long',
      { name: 'up', labels: { ['l'.repeat(129)]: 'a' }, timestamp: NOW, value: 1 },
      bad('label_too_long', `labels: name "${'l'.repeat(79)}… is longer than 128 characters`),
    ],
    [
      'label value too long',
      { name: 'up', labels: { path: 'v'.repeat(1025) }, timestamp: NOW, value: 1 },
      bad('label_too_long', 'labels.path: value is longer than 1024 characters'),
    ],
    [
      'label explosion',
      {
        name: 'up',
        labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'x'])),
        timestamp: NOW,
        value: 1,
      },
      bad('too_many_labels', 'labels: 33 labels, at most 32 allowed'),
    ],

    // --- values ---
    [
      'non-numeric string',
      { name: 'up', timestamp: NOW, value: 'abc' },
      bad('invalid_value', 'value: expected a number or numeric string, got "abc"'),
    ],
    [
      'empty string',
      { name: 'up', timestamp: NOW, value: '' },
      bad('invalid_value', 'value: expected a number or numeric string, got ""'),
    ],
    [
      'hex string',
      { name: 'up', timestamp: NOW, value: '0x10' },
      bad('invalid_value', 'value: expected a number or numeric string, got "0x10"'),
    ],
    [
      '+Inf',
      { name: 'up', timestamp: NOW, value: '+Inf' },
      bad('non_finite_value', 'value: "+Inf" is not finite'),
    ],
    [
      '-Inf',
      { name: 'up', timestamp: NOW, value: '-Inf' },
      bad('non_finite_value', 'value: "-Inf" is not finite'),
    ],
    [
      'Inf',
      { name: 'up', timestamp: NOW, value: 'Inf' },
      bad('non_finite_value', 'value: "Inf" is not finite'),
    ],
    [
      'huge number',
      { name: 'up', timestamp: NOW, value: 2e100 },
      bad(
        'value_out_of_range',
        'value: 2e+100 is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],
    [
      'huge negative string',
      { name: 'up', timestamp: NOW, value: '-1e200' },
      bad(
        'value_out_of_range',
        'value: -1e+200 is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],
    [
      'number that overflows a double',
      '{"name":"up","timestamp":1700000000000,"value":1e400}',
      bad(
        'value_out_of_range',
        'value: Infinity is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],
    [
      'numeric string that overflows a double',
      { name: 'up', timestamp: NOW, value: '1e400' },
      bad(
        'value_out_of_range',
        'value: Infinity is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],

    // --- timestamps ---
    [
      'seconds instead of milliseconds',
      { name: 'up', timestamp: 1_700_000_000, value: 1 },
      bad(
        'invalid_timestamp',
        'timestamp: 1700000000 ms is before the minimum 946684800000 ms (seconds sent as milliseconds?)',
      ),
    ],
    [
      'free text',
      { name: 'up', timestamp: 'yesterday', value: 1 },
      bad(
        'invalid_timestamp',
        'timestamp: expected epoch milliseconds or an RFC 3339 date-time, got "yesterday"',
      ),
    ],
    [
      'local time without zone',
      { name: 'up', timestamp: '2023-11-14T22:13:20', value: 1 },
      bad(
        'invalid_timestamp',
        'timestamp: expected epoch milliseconds or an RFC 3339 date-time, got "2023-11-14T22:13:20"',
      ),
    ],
    [
      'overflowing timestamp number',
      '{"name":"up","timestamp":1e400,"value":1}',
      bad('invalid_timestamp', 'timestamp: Infinity is not a finite number'),
    ],
    [
      'future beyond the skew',
      { name: 'up', timestamp: NOW + 300_001, value: 1 },
      bad('timestamp_in_future', 'timestamp: 1700000300001 ms is more than 300000 ms after now'),
    ],
    [
      'future as RFC 3339',
      { name: 'up', timestamp: '2030-01-01T00:00:00Z', value: 1 },
      bad('timestamp_in_future', 'timestamp: 1893456000000 ms is more than 300000 ms after now'),
    ],

    // --- message level ---
    ['empty array', '[]', bad('empty_message', 'the JSON array is empty')],
  ];

  it.each(cases)('%s', (_title, input, expected) => {
    expect(decode(input)).toEqual(expected);
  });

  it('reports unparsable JSON with the parser message', () => {
    const result = decode('{"name":"up",');
    expect(result.samples).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.reason).toBe('invalid_json');
    expect(result.problems[0]?.detail).toMatch(/JSON/);
    expect(result.problems[0]).not.toHaveProperty('index');
  });

  it('keeps explicit NaN as NaN, not as a problem', () => {
    const { samples } = decode({ name: 'up', timestamp: NOW, value: 'NaN' });
    expect(Number.isNaN(samples[0]?.value)).toBe(true);
  });
});

describe('decodeJson: arrays', () => {
  it('keeps the good items of a partly bad array and indexes the bad ones', () => {
    const result = decode([
      { name: 'a', timestamp: NOW, value: 1 },
      5,
      { name: 'b', timestamp: NOW, value: 'abc' },
      { labels: { __name__: 'c', job: 'x' }, timestamp: '2023-11-14T22:13:20Z', value: '3' },
      { name: 'd', timestamp: NOW, value: '-Inf' },
    ]);
    expect(result).toEqual({
      samples: [
        { name: 'a', labels: {}, timestampMs: NOW, value: 1 },
        { name: 'c', labels: { job: 'x' }, timestampMs: NOW, value: 3 },
      ],
      problems: [
        { reason: 'invalid_schema', detail: 'expected an object, got 5', index: 1 },
        {
          reason: 'invalid_value',
          detail: 'value: expected a number or numeric string, got "abc"',
          index: 2,
        },
        { reason: 'non_finite_value', detail: 'value: "-Inf" is not finite', index: 4 },
      ],
    });
  });

  it('stops at maxSamplesPerMessage items, counting rejected items too', () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxSamplesPerMessage: 3 };
    const items = [
      { name: 'a', timestamp: NOW, value: 1 },
      { name: 'b', timestamp: NOW, value: 'x' },
      { name: 'c', timestamp: NOW, value: 3 },
      { name: 'd', timestamp: NOW, value: 4 },
      { name: 'e', timestamp: NOW, value: 5 },
    ];
    expect(decode(items, limits)).toEqual({
      samples: [
        { name: 'a', labels: {}, timestampMs: NOW, value: 1 },
        { name: 'c', labels: {}, timestampMs: NOW, value: 3 },
      ],
      problems: [
        {
          reason: 'invalid_value',
          detail: 'value: expected a number or numeric string, got "x"',
          index: 1,
        },
        {
          reason: 'too_many_samples',
          detail: 'more than 3 items in one message; this one and all after it were dropped',
          index: 3,
        },
      ],
    });
  });

  it('decodes a 10 000-item array at the default limit without dropping any', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({
      name: 'up',
      labels: { i: String(i) },
      timestamp: NOW,
      value: i,
    }));
    const result = decode(items);
    expect(result.problems).toEqual([]);
    expect(result.samples).toHaveLength(10_000);
    expect(result.samples[9_999]).toEqual({
      name: 'up',
      labels: { i: '9999' },
      timestampMs: NOW,
      value: 9_999,
    });
  });
});

describe('JsonSampleSchema and the hand check agree on the shape', () => {
  const items: unknown[] = [
    { name: 'up', timestamp: NOW, value: 1 },
    { name: 'up', timestamp: 'x', value: 'y' },
    { name: 'up', labels: {}, timestamp: NOW, value: 1 },
    { name: 'up', labels: { a: 'b' }, timestamp: NOW, value: 1 },
    { name: 'up', labels: { a: 1 }, timestamp: NOW, value: 1 },
    { name: 'up', labels: null, timestamp: NOW, value: 1 },
    { name: 'up', labels: [], timestamp: NOW, value: 1 },
    { name: null, timestamp: NOW, value: 1 },
    { name: 'up', timestamp: null, value: 1 },
    { name: 'up', timestamp: NOW, value: null },
    { name: 'up', timestamp: NOW, value: {} },
    { name: 'up', timestamp: [NOW], value: 1 },
    { name: 'up', timestamp: true, value: 1 },
    [],
    'up',
    7,
    null,
  ];
  it.each(items.map((item) => [JSON.stringify(item), item]))('%s', (_title, item) => {
    const schemaAccepts = JsonSampleSchema.safeParse(item).success;
    // Wrapped in an array so strings and arrays reach the item check, not the message check.
    const { problems } = decodeJson(JSON.stringify([item]), context);
    const decoderAccepts = problems.every((p) => p.reason !== 'invalid_schema');
    expect(decoderAccepts).toBe(schemaAccepts);
  });
});

describe('parseRfc3339Ms', () => {
  const good: [string, number][] = [
    ['1970-01-01T00:00:00Z', 0],
    ['2000-02-29T12:00:00Z', 951_825_600_000],
    ['2017-01-01T00:00:00Z', 1_483_228_800_000],
    ['2017-01-01T01:00:00+01:00', 1_483_228_800_000],
    ['2016-12-31T19:00:00.5-05:00', 1_483_228_800_500],
    ['2023-11-14T22:13:20.123456789Z', 1_700_000_000_123],
    ['2023-11-14t22:13:20z', 1_700_000_000_000],
    ['2023-11-14 22:13:20Z', 1_700_000_000_000],
    ['1999-12-31T23:59:59Z', 946_684_799_000],
    ['2100-03-01T00:00:00Z', 4_107_542_400_000],
    ['1900-01-01T00:00:00Z', -2_208_988_800_000],
  ];
  it.each(good)('%s → %d', (text, expected) => {
    expect(parseRfc3339Ms(text)).toBe(expected);
  });

  const badInputs = [
    '2017-13-01T00:00:00Z',
    '2017-00-01T00:00:00Z',
    '2019-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2017-04-31T00:00:00Z',
    '2017-01-01T24:00:00Z',
    '2017-01-01T00:60:00Z',
    '2016-12-31T23:59:60Z',
    '2017-01-01T00:00:00+24:00',
    '2017-01-01T00:00:00',
    '2017-01-01',
    '2017-01-01T00:00Z',
    '17-01-01T00:00:00Z',
    '',
  ];
  it.each(badInputs)('refuses %j', (text) => {
    expect(parseRfc3339Ms(text)).toBeUndefined();
  });
});

describe('context', () => {
  it('uses the given clock for the future check', () => {
    const later = { ...context, nowMs: NOW + 1_000_000 };
    expect(
      decodeJson(JSON.stringify({ name: 'up', timestamp: NOW + 400_000, value: 1 }), later),
    ).toEqual(ok('up', {}, NOW + 400_000, 1));
  });
});
