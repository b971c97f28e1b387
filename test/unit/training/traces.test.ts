import { describe, expect, it } from 'vitest';
import { HealcastError } from '../../../src/errors.js';
import {
  dataFingerprint,
  parseCsvTrace,
  parseNdjsonTrace,
  parseTimestamp,
  parseTrace,
  regularize,
  seriesKey,
  stepFromFileName,
  type TraceOptions,
} from '../../../src/training/traces.js';

const opts: TraceOptions = { minRows: 3 };
const MIN = 60_000;

function values(trace: { series: { values: Float64Array }[] }, i = 0): number[] {
  return Array.from(trace.series[i]?.values ?? []);
}

function dataError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HealcastError);
    expect((error as HealcastError).code).toBe('DATA_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected a DATA_INVALID error');
}

describe('parseTimestamp', () => {
  it.each([
    ['1995-07-01 00:01:00', Date.UTC(1995, 6, 1, 0, 1)],
    ['1995-07-01T00:01:00Z', Date.UTC(1995, 6, 1, 0, 1)],
    ['2024-02-29T23:59:59.250Z', Date.UTC(2024, 1, 29, 23, 59, 59, 250)],
    ['2024-01-01T02:00:00+02:00', Date.UTC(2024, 0, 1, 0, 0)],
    ['2024-01-01T00:00:00-0130', Date.UTC(2024, 0, 1, 1, 30)],
    ['2024-01-01', Date.UTC(2024, 0, 1)],
    ['1700000000', 1_700_000_000_000],
    ['1700000000000', 1_700_000_000_000],
    ['1700000000.5', 1_700_000_000_500],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each(['', 'yesterday', '2024-13-01', '2024-01-01 25:00', '01/02/2024'])(
    'refuses %j',
    (text) => {
      expect(parseTimestamp(text)).toBeUndefined();
    },
  );
});

describe('CSV traces', () => {
  it('reads a time column (ISO) and names series <file>:<column>', () => {
    const csv = 'minute,count\n2024-01-01 00:00:00,5\n2024-01-01 00:01:00,6\n2024-01-01 00:02:00,7\n';
    const trace = parseCsvTrace(csv, '/data/web_requests.csv', opts);
    expect(trace.series).toHaveLength(1);
    const s = trace.series[0];
    expect(s?.name).toBe('web_requests:count');
    expect(s?.stepMs).toBe(MIN);
    expect(s?.startMs).toBe(Date.UTC(2024, 0, 1));
    expect(values(trace)).toEqual([5, 6, 7]);
  });

  it('reads epoch-second timestamps, several numeric columns, and skips text columns', () => {
    const csv = [
      'timestamp,host,cpu,mem',
      '1700000000,a,1,10',
      '1700000060,a,2,20',
      '1700000120,a,3,30',
    ].join('\n');
    const trace = parseCsvTrace(csv, 'm.csv', opts);
    expect(trace.series.map((s) => s.name)).toEqual(['m:cpu', 'm:mem']);
    expect(values(trace, 1)).toEqual([10, 20, 30]);
    expect(trace.series[0]?.startMs).toBe(1_700_000_000_000);
  });

  it('sorts rows that are out of order', () => {
    const csv = 'time,v\n120,3\n0,1\n60,2\n';
    expect(values(parseCsvTrace(csv, 'x.csv', opts))).toEqual([1, 2, 3]);
  });

  it('without a time column takes the step from the file name', () => {
    const csv = 'cpu,mem\n1,2\n3,4\n5,6\n';
    const trace = parseCsvTrace(csv, 'dir/usage_days1-8_300s.csv', opts);
    expect(trace.series[0]?.stepMs).toBe(300_000);
    expect(trace.series[0]?.startMs).toBe(0);
    expect(values(trace)).toEqual([1, 3, 5]);
    expect(trace.notes.join()).toMatch(/no time column/);
  });

  it('without a time column takes --step and --start', () => {
    const trace = parseCsvTrace('v\n1\n2\n3\n', 'plain.csv', {
      ...opts,
      stepMs: 10_000,
      startMs: 1_000_000,
    });
    expect(trace.series[0]?.stepMs).toBe(10_000);
    expect(trace.series[0]?.startMs).toBe(1_000_000);
  });

  it('without a time column and no step is an error that says what to do', () => {
    expect(dataError(() => parseCsvTrace('v\n1\n2\n3\n', 'plain.csv', opts))).toMatch(
      /plain\.csv: no time column .*--step/,
    );
  });

  it('reports unparseable timestamps with file and line', () => {
    const csv = 'time,v\n2024-01-01 00:00:00,1\nnot-a-time,2\n';
    expect(dataError(() => parseCsvTrace(csv, 'bad.csv', opts))).toBe(
      'bad.csv:3: unparseable timestamp "not-a-time"',
    );
  });

  it('reports a non-number in a numeric column with file and line', () => {
    const csv = 'time,v\n0,1\n60,2\n120,oops\n';
    expect(dataError(() => parseCsvTrace(csv, 'bad.csv', opts))).toMatch(/^bad\.csv:4: column v/);
  });

  it('refuses a file without a numeric column', () => {
    expect(dataError(() => parseCsvTrace('time,host\n0,a\n60,b\n', 'h.csv', opts))).toMatch(
      /h\.csv: no numeric column/,
    );
  });

  it('refuses too few rows for window + horizon', () => {
    expect(dataError(() => parseCsvTrace('time,v\n0,1\n60,2\n', 'short.csv', opts))).toMatch(
      /short\.csv: series short:v has 2 rows; it needs at least 3/,
    );
  });

  it('keeps only the chosen columns', () => {
    const csv = 'a,b\n1,2\n3,4\n5,6\n';
    const trace = parseCsvTrace(csv, 'x_60s.csv', { ...opts, columns: ['b'] });
    expect(trace.series.map((s) => s.name)).toEqual(['x_60s:b']);
  });
});

describe('gaps', () => {
  const grid = (fill: 'zero' | 'previous', maxGapSteps: number, minRows = 1) => ({
    fill,
    maxGapSteps,
    stepMs: undefined,
    minRows,
  });
  // Minutes 0,1,2 then 5,6 (a 2-step gap), then 20,21 (a 13-step gap).
  const ts = [0, 1, 2, 5, 6, 20, 21].map((m) => m * MIN);
  const vs = [1, 2, 3, 4, 5, 6, 7];

  it('fills short gaps with the previous value and splits at long ones', () => {
    const r = regularize('s', 'f', { timestamps: ts, values: vs }, grid('previous', 3));
    expect(r.stepMs).toBe(MIN);
    expect(r.splits).toBe(1);
    expect(r.segments.map((s) => Array.from(s.values))).toEqual([
      [1, 2, 3, 3, 3, 4, 5],
      [6, 7],
    ]);
    expect(r.segments[0]?.filledSteps).toBe(2);
    expect(r.segments[1]?.startMs).toBe(20 * MIN);
    expect(r.segments[1]?.segment).toBe(1);
  });

  it('fills with zeros when asked', () => {
    const r = regularize('s', 'f', { timestamps: ts, values: vs }, grid('zero', 20));
    expect(r.segments).toHaveLength(1);
    expect(Array.from(r.segments[0]?.values ?? []).slice(0, 7)).toEqual([1, 2, 3, 0, 0, 4, 5]);
    expect(r.segments[0]?.values.length).toBe(22);
  });

  it('drops pieces shorter than minRows', () => {
    const r = regularize('s', 'f', { timestamps: ts, values: vs }, grid('previous', 3, 5));
    expect(r.segments).toHaveLength(1);
    expect(r.dropped).toBe(1);
    expect(r.segments[0]?.segment).toBe(0);
  });

  it('snaps jittered timestamps to the grid', () => {
    const r = regularize(
      's',
      'f',
      { timestamps: [0, 59_000, 121_000, 180_500], values: [1, 2, 3, 4] },
      grid('previous', 3),
    );
    expect(Array.from(r.segments[0]?.values ?? [])).toEqual([1, 2, 3, 4]);
  });

  it('applies the NASA rule: absent minutes are zeros, outages split', () => {
    const rows = ['minute,count'];
    const minute = (m: number): string =>
      new Date(Date.UTC(1995, 6, 1) + m * MIN).toISOString().slice(0, 19).replace('T', ' ');
    for (const m of [0, 1, 2, 3, 10, 11, 12, 13]) rows.push(`${minute(m)},${m + 1}`);
    for (const m of [500, 501, 502, 503]) rows.push(`${minute(m)},7`);
    const trace = parseCsvTrace(rows.join('\n'), 'nasa_http_requests_per_minute.csv', {
      minRows: 4,
    });
    expect(trace.series).toHaveLength(2);
    expect(values(trace)).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 11, 12, 13, 14]);
    expect(values(trace, 1)).toEqual([7, 7, 7, 7]);
    expect(trace.notes.join('\n')).toMatch(/NASA-HTTP/);
  });

  it('explicit options win over the NASA rule', () => {
    const csv = 'minute,count\n1995-07-01 00:00:00,1\n1995-07-01 00:01:00,2\n1995-07-01 00:03:00,4\n';
    const trace = parseCsvTrace(csv, 'nasa_http.csv', { minRows: 3, fill: 'previous' });
    expect(values(trace)).toEqual([1, 2, 2, 4]);
  });
});

describe('NDJSON traces', () => {
  it('groups samples into series by name and labels', () => {
    const text = [
      '{"name":"cpu","labels":{"host":"b"},"timestamp":0,"value":1}',
      '{"name":"cpu","labels":{"host":"a"},"timestamp":"1970-01-01T00:00:00Z","value":10}',
      '{"name":"cpu","labels":{"host":"a"},"timestamp":60,"value":"11"}',
      '',
      '{"name":"cpu","labels":{"host":"b"},"timestamp":60,"value":2}',
      '{"name":"cpu","labels":{"host":"a"},"timestamp":120,"value":12}',
      '{"name":"cpu","labels":{"host":"b"},"timestamp":120,"value":3}',
    ].join('\n');
    const trace = parseNdjsonTrace(text, 'samples.ndjson', opts);
    expect(trace.series.map((s) => s.name).sort()).toEqual(['cpu{host="a"}', 'cpu{host="b"}']);
    const a = trace.series.find((s) => s.name === 'cpu{host="a"}');
    expect(Array.from(a?.values ?? [])).toEqual([10, 11, 12]);
    expect(a?.stepMs).toBe(MIN);
  });

  it('reports bad lines with file and line', () => {
    expect(dataError(() => parseNdjsonTrace('{"name":"x"', 'a.ndjson', opts))).toMatch(
      /^a\.ndjson:1: not JSON/,
    );
    expect(
      dataError(() =>
        parseNdjsonTrace('{"name":"x","timestamp":0,"value":1}\n{"name":"x","value":1}', 'a.ndjson', opts),
      ),
    ).toMatch(/^a\.ndjson:2: timestamp/);
    expect(
      dataError(() => parseNdjsonTrace('{"name":"x","timestamp":"soon","value":1}', 'a.ndjson', opts)),
    ).toBe('a.ndjson:1: unparseable timestamp "soon"');
  });

  it('dispatches on the extension', () => {
    expect(() => parseTrace('', 'x.parquet', opts)).toThrow(/unknown trace format/);
    expect(parseTrace('v\n1\n2\n3', 'x_1s.csv', opts).series).toHaveLength(1);
  });
});

describe('helpers', () => {
  it('reads the step from a file name', () => {
    expect(stepFromFileName('alibaba2018_machine_usage_days1-8_30s.csv')).toBe(30_000);
    expect(stepFromFileName('/x/google2019_instance_usage_month_300s.csv')).toBe(300_000);
    expect(stepFromFileName('load_5m.csv')).toBe(300_000);
    expect(stepFromFileName('nasa_http_requests_per_minute.csv')).toBeUndefined();
  });

  it('builds Prometheus-like series keys with sorted labels', () => {
    expect(seriesKey('up')).toBe('up');
    expect(seriesKey('cpu', { z: '1', a: '2' })).toBe('cpu{a="2",z="1"}');
  });

  it('fingerprints the data as used', () => {
    const a = parseCsvTrace('v\n1\n2\n3\n', 'x_1s.csv', opts).series;
    const b = parseCsvTrace('v\n1\n2\n4\n', 'x_1s.csv', opts).series;
    expect(dataFingerprint(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dataFingerprint(a)).toBe(dataFingerprint(parseCsvTrace('v\n1\n2\n3\n', 'x_1s.csv', opts).series));
    expect(dataFingerprint(a)).not.toBe(dataFingerprint(b));
  });
});
