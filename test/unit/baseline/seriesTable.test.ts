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
  it('evicts the least recently seen series when full', () => {
    const table = new SeriesTable(3);
    expect(table.touch('a')).toEqual({ slot: 0, isNew: true, evictedKey: undefined });
    table.touch('b');
    table.touch('c');
    table.touch('a'); // a is now the most recent; b is the oldest
    const d = table.touch('d');
    expect(d).toEqual({ slot: 1, isNew: true, evictedKey: 'b' });
    expect(table.peek('b')).toBeUndefined();
    expect(table.size).toBe(3);
    const e = table.touch('e'); // c is now the oldest
    expect(e.evictedKey).toBe('c');
    expect(table.touch('a').isNew).toBe(false);
    expect(table.keyOf(table.peek('d') as number)).toBe('d');
  });

  it('works with a capacity of one', () => {
    const table = new SeriesTable(1);
    table.touch('a');
    expect(table.touch('b').evictedKey).toBe('a');
    expect(table.touch('b').isNew).toBe(false);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new SeriesTable(0)).toThrow(RangeError);
  });
});
