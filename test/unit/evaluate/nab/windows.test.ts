import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  NAB_PROFILES,
  nabTimestampMs,
  scoreNab,
  nabWindowRows,
  parseNabWindows,
  tryNabTimestampMs,
} from '../../../../src/evaluate/nab/index.js';
import { HealcastError } from '../../../../src/errors.js';

const FIXTURE = new URL('../../../fixtures/nab/combined_windows.slice.json', import.meta.url);

describe('nabTimestampMs', () => {
  it.each([
    ['2014-02-19 10:50:00.000000', Date.UTC(2014, 1, 19, 10, 50)],
    ['2014-02-19 10:50:00', Date.UTC(2014, 1, 19, 10, 50)],
    ['2016-02-29 23:59:59', Date.UTC(2016, 1, 29, 23, 59, 59)],
    ['2000-03-01 00:00:00', Date.UTC(2000, 2, 1)],
    ['1969-12-31 23:59:59', Date.UTC(1969, 11, 31, 23, 59, 59)],
    ['2014-02-19 10:50:00.5', Date.UTC(2014, 1, 19, 10, 50) + 500],
  ])('reads %s as UTC', (text, ms) => {
    expect(nabTimestampMs(text)).toBe(ms);
  });

  it.each([
    '2014-02-30 00:00:00',
    '2015-02-29 00:00:00',
    '2014-02-19 24:00:00',
    '2014-02-19 10:50:60',
    '2014-02-19 10:50:00Z',
    '2014/02/19 10:50:00',
    '',
    '2014-02-19',
  ])('rejects %j', (text) => {
    expect(tryNabTimestampMs(text)).toBeUndefined();
    expect(() => nabTimestampMs(text)).toThrow(HealcastError);
  });
});

describe('parseNabWindows', () => {
  it('reads a combined_windows.json-shaped object, files without windows included', () => {
    const windows = parseNabWindows({
      'cat/a.csv': [
        ['2014-02-19 10:50:00.000000', '2014-02-20 03:30:00.000000'],
        ['2014-02-21 00:00:00.000000', '2014-02-21 01:00:00.000000'],
      ],
      'cat/b.csv': [],
    });
    expect([...windows.keys()]).toEqual(['cat/a.csv', 'cat/b.csv']);
    expect(windows.get('cat/a.csv')).toEqual([
      [Date.UTC(2014, 1, 19, 10, 50), Date.UTC(2014, 1, 20, 3, 30)],
      [Date.UTC(2014, 1, 21), Date.UTC(2014, 1, 21, 1)],
    ]);
    expect(windows.get('cat/b.csv')).toEqual([]);
  });

  it.each([
    ['not an object', ['x'], '(root)'],
    ['a bad timestamp', { 'c/f.csv': [['2014-02-19', '2014-02-20 00:00:00']] }, 'c/f.csv.0.0'],
    [
      'a window ending first',
      { 'c/f.csv': [['2014-02-20 00:00:00', '2014-02-19 00:00:00']] },
      'c/f.csv.0',
    ],
    [
      'overlapping windows',
      {
        'c/f.csv': [
          ['2014-02-19 00:00:00', '2014-02-20 00:00:00'],
          ['2014-02-19 12:00:00', '2014-02-21 00:00:00'],
        ],
      },
      'c/f.csv.1',
    ],
  ])('rejects %s, naming where', (_what, json, path) => {
    let error: unknown;
    try {
      parseNabWindows(json);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HealcastError);
    expect((error as HealcastError).code).toBe('DATA_INVALID');
    expect((error as HealcastError).message).toContain(`${path}:`);
  });

  it("reads a slice of NAB's real combined_windows.json and finds its windows' rows", () => {
    const windows = parseNabWindows(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    expect(Object.fromEntries([...windows].map(([name, list]) => [name, list.length]))).toEqual({
      'artificialNoAnomaly/art_flatline.csv': 0,
      'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv': 2,
      'realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv': 3,
    });
    // Both files are regular 5-minute grids of 4032 rows; row ranges checked against the
    // data file by hand (first row 2014-02-14 14:30:00 and 14:27:00).
    const grid = (first: string) =>
      Array.from({ length: 4032 }, (_, i) => nabTimestampMs(first) + i * 300_000);
    expect(
      nabWindowRows(
        grid('2014-02-14 14:30:00'),
        windows.get('realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv') ?? [],
      ),
    ).toEqual([
      [3447, 3647],
      [3677, 3877],
    ]);
    expect(
      nabWindowRows(
        grid('2014-02-14 14:27:00'),
        windows.get('realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv') ?? [],
      ),
    ).toEqual([
      [698, 832],
      [2064, 2198],
      [2535, 2669],
    ]);
  });

  it('feeds the scorer: parsed windows score the rows they cover', () => {
    const windows = parseNabWindows({
      'c/f.csv': [['2014-01-01 04:10:00.000000', '2014-01-01 04:55:00.000000']],
    });
    const timestampsMs = Array.from(
      { length: 100 },
      (_, i) => nabTimestampMs('2014-01-01 00:00:00') + i * 300_000,
    );
    const file = {
      name: 'c/f.csv',
      timestampsMs,
      scores: timestampsMs.map((_, i) => (i === 50 ? 1 : 0)),
      windows: windows.get('c/f.csv') ?? [],
    };
    // 04:10 is row 50, 04:55 row 59: a detection on row 50 is the earliest possible.
    expect(scoreNab([file], NAB_PROFILES.standard, 0.5)).toMatchObject({ raw: 1, tp: 1, fp: 0 });
  });

  it('maps a window to the rows inside its bounds, or to none in a gap of the data', () => {
    const timestampsMs = [0, 10, 20, 30, 60, 70];
    expect(
      nabWindowRows(timestampsMs, [
        [5, 25],
        [40, 50],
        [60, 1000],
      ]),
    ).toEqual([[1, 2], undefined, [4, 5]]);
  });
});
