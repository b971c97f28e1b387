import { describe, expect, it } from 'vitest';
import { SeriesTable, seriesKey } from '../../../src/baseline/seriesTable.js';

describe('seriesKey', () => {
  it('sorts labels so arrival order does not matter', () => {
    expect(seriesKey('cpu', { b: '2', a: '1' })).toBe('cpu{a="1",b="2"}');
    expect(seriesKey('cpu', { a: '1', b: '2' })).toBe('cpu{a="1",b="2"}');
    expect(seriesKey('up', {})).toBe('up');
  });

  it('escapes quotes, backslashes and newlines in values', () => {
    expect(seriesKey('m', { a: 'x"y\\z\n' })).toBe('m{a="x\\"y\\\\z\\n"}');
  });
});

describe('SeriesTable', () => {
  const touch = (table: SeriesTable, host: string) => table.touchSeries('cpu', { host });

  it('evicts the least recently seen series when full', () => {
    const table = new SeriesTable(3);
    expect(touch(table, 'a')).toEqual({ slot: 0, isNew: true, evictedKey: undefined });
    touch(table, 'b');
    touch(table, 'c');
    expect(touch(table, 'a')).toEqual({ slot: 0, isNew: false, evictedKey: undefined }); // b is now the oldest
    const d = touch(table, 'd');
    expect(d).toEqual({ slot: 1, isNew: true, evictedKey: 'cpu{host="b"}' });
    expect(table.size).toBe(3);
    expect(touch(table, 'e').evictedKey).toBe('cpu{host="c"}');
    expect(touch(table, 'a').isNew).toBe(false);
    expect(table.keyOf(d.slot)).toBe('cpu{host="d"}');
    // b was evicted, so it comes back as new, taking the slot of the oldest (d)
    expect(touch(table, 'b')).toEqual({ slot: d.slot, isNew: true, evictedKey: 'cpu{host="d"}' });
  });

  it('finds a series whatever order its labels arrive in, and tells similar ones apart', () => {
    const table = new SeriesTable(10);
    const first = table.touchSeries('m', { b: '2', a: '1' });
    expect(table.keyOf(first.slot)).toBe('m{a="1",b="2"}');
    expect(table.touchSeries('m', { a: '1', b: '2' })).toMatchObject({
      slot: first.slot,
      isNew: false,
    });
    for (const [name, labels] of [
      ['m', { a: '1', b: '22' }],
      ['m', { a: '1' }],
      ['m', {}],
      ['mm', { a: '1', b: '2' }],
      ['m', { a: '1', b: '2', c: '' }],
      ['m', { a: '1",b="2' }],
      ['m', { ab: '1' }],
    ] as const) {
      expect(table.touchSeries(name, labels).isNew).toBe(true);
    }
    expect(table.touchSeries('m', { a: '1",b="2' }).isNew).toBe(false);
    expect(table.touchSeries('m', {}).isNew).toBe(false);
    expect(table.size).toBe(8);
  });

  it('stays correct when many series share a hash chain and are evicted', () => {
    // A small table fed many series exercises chain unlinking on eviction.
    const table = new SeriesTable(50);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) touch(table, `h${i}`);
    }
    expect(table.size).toBe(50);
    for (let i = 150; i < 200; i++) expect(touch(table, `h${i}`).isNew).toBe(false);
    expect(touch(table, 'h0').isNew).toBe(true);
  });

  it('works with a capacity of one', () => {
    const table = new SeriesTable(1);
    touch(table, 'a');
    expect(touch(table, 'b').evictedKey).toBe('cpu{host="a"}');
    expect(touch(table, 'b').isNew).toBe(false);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new SeriesTable(0)).toThrow(RangeError);
  });
});
