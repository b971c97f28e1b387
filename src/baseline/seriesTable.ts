/**
 * A bounded map from series key to a dense slot number, with least-recently-seen eviction.
 *
 * Label explosions are a fact of life (a pod name or request id leaking into a label), so
 * the number of live series is capped: when the table is full the series seen least recently
 * gives up its slot. The LRU list lives in two Int32Arrays so touching a series is O(1)
 * and allocation-free; per-series state lives in arrays indexed by slot elsewhere.
 */
export class SeriesTable {
  /** First slot with a given 32-bit series hash; further ones chain through `nextSameHash`. */
  private readonly byHash = new Map<number, number>();
  private readonly hashOf: Int32Array;
  private readonly nextSameHash: Int32Array;
  private readonly keys: (string | undefined)[];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Most recently seen slot, or -1. */
  private head = -1;
  /** Least recently seen slot, or -1. */
  private tail = -1;
  private used = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`series capacity must be a positive integer, got ${capacity}`);
    }
    this.keys = new Array<string | undefined>(capacity);
    this.hashOf = new Int32Array(capacity);
    this.nextSameHash = new Int32Array(capacity).fill(-1);
    this.prev = new Int32Array(capacity).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
  }

  /** Number of live series. */
  get size(): number {
    return this.used;
  }

  /** Key held by `slot`, or undefined when the slot is free. */
  keyOf(slot: number): string | undefined {
    return this.keys[slot];
  }

  /**
   * Returns the slot of the series (name, labels), marking it most recently seen. A new series
   * takes a free slot or, when full, the least recently seen one; `evictedKey` then names the
   * series that lost it, so the caller can reset that slot's state.
   *
   * The key string is built only for a new series: a known one is found by hashing its name
   * and labels directly and comparing them in place with the stored key. This is the
   * per-sample hot path (see BENCHMARKS.md); building and hashing a fresh key string per
   * sample cost more than all the rest of scoring.
   */
  touchSeries(
    name: string,
    labels: Readonly<Record<string, string>>,
  ): { slot: number; isNew: boolean; evictedKey: string | undefined } {
    const names = sortedLabelNames(labels);
    const hash = hashSeries(name, names, labels);
    for (
      let slot = this.byHash.get(hash) ?? -1;
      slot !== -1;
      slot = this.nextSameHash[slot] as number
    ) {
      if (keyMatches(this.keys[slot] as string, name, names, labels)) {
        this.moveToHead(slot);
        return { slot, isNew: false, evictedKey: undefined };
      }
    }
    return this.insert(seriesKeyOfSorted(name, names, labels), hash);
  }

  /** Slot of the series (name, labels) without changing its recency, or undefined. */
  peekSeries(name: string, labels: Readonly<Record<string, string>>): number | undefined {
    const names = sortedLabelNames(labels);
    const hash = hashSeries(name, names, labels);
    for (
      let slot = this.byHash.get(hash) ?? -1;
      slot !== -1;
      slot = this.nextSameHash[slot] as number
    ) {
      if (keyMatches(this.keys[slot] as string, name, names, labels)) return slot;
    }
    return undefined;
  }

  /** Slot of a canonical series key (`name{a="1"}`), without changing its recency. */
  slotOfKey(key: string): number | undefined {
    const parsed = parseSeriesKey(key);
    return parsed === undefined ? undefined : this.peekSeries(parsed.name, parsed.labels);
  }

  private insert(
    key: string,
    hash: number,
  ): { slot: number; isNew: boolean; evictedKey: string | undefined } {
    let slot: number;
    let evictedKey: string | undefined;
    if (this.used < this.capacity) {
      slot = this.used++;
    } else {
      slot = this.tail;
      evictedKey = this.keys[slot];
      if (evictedKey !== undefined) this.unlinkHash(slot);
      this.unlink(slot);
    }
    this.keys[slot] = key;
    this.hashOf[slot] = hash;
    this.nextSameHash[slot] = this.byHash.get(hash) ?? -1;
    this.byHash.set(hash, slot);
    this.linkAtHead(slot);
    return { slot, isNew: true, evictedKey };
  }

  private unlinkHash(slot: number): void {
    const hash = this.hashOf[slot] as number;
    const next = this.nextSameHash[slot] as number;
    let current = this.byHash.get(hash) ?? -1;
    if (current === slot) {
      if (next === -1) this.byHash.delete(hash);
      else this.byHash.set(hash, next);
    } else {
      while (current !== -1) {
        const after = this.nextSameHash[current] as number;
        if (after === slot) {
          this.nextSameHash[current] = next;
          break;
        }
        current = after;
      }
    }
    this.nextSameHash[slot] = -1;
  }

  private moveToHead(slot: number): void {
    if (this.head === slot) return;
    this.unlink(slot);
    this.linkAtHead(slot);
  }

  private unlink(slot: number): void {
    const p = this.prev[slot] as number;
    const n = this.next[slot] as number;
    if (p !== -1) this.next[p] = n;
    else this.head = n;
    if (n !== -1) this.prev[n] = p;
    else this.tail = p;
    this.prev[slot] = -1;
    this.next[slot] = -1;
  }

  private linkAtHead(slot: number): void {
    this.prev[slot] = -1;
    this.next[slot] = this.head;
    if (this.head !== -1) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail === -1) this.tail = slot;
  }
}

/**
 * Canonical series key: the metric name and its labels sorted by name, in Prometheus text
 * form (`name{a="1",b="2"}`), so the same series always maps to the same key whatever order
 * the labels arrived in.
 */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return seriesKeyOfSorted(name, sortedLabelNames(labels), labels);
}

function seriesKeyOfSorted(
  name: string,
  names: readonly string[],
  labels: Readonly<Record<string, string>>,
): string {
  if (names.length === 0) return name;
  // join() yields one flat string; repeated += would keep a rope of the decoded label
  // strings alive for as long as the key lives (hundreds of bytes per series).
  const parts = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) {
    const labelName = names[i] as string;
    parts[i] = labelName + '="' + escapeLabelValue(labels[labelName] as string) + '"';
  }
  return name + '{' + parts.join(',') + '}';
}

/** Label names in ascending order (sorting only when they did not arrive sorted). */
function sortedLabelNames(labels: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if ((names[i - 1] as string) > (names[i] as string)) return names.sort();
  }
  return names;
}

/** True when `key` is exactly the canonical key of (name, sorted names, labels). */
function keyMatches(
  key: string,
  name: string,
  names: readonly string[],
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!key.startsWith(name)) return false;
  let pos = name.length;
  if (names.length === 0) return key.length === pos;
  if (key.charCodeAt(pos) !== 123 /* { */) return false;
  pos++;
  for (let i = 0; i < names.length; i++) {
    const labelName = names[i] as string;
    const value = escapeLabelValue(labels[labelName] as string);
    if (i > 0) {
      if (key.charCodeAt(pos) !== 44 /* , */) return false;
      pos++;
    }
    if (!key.startsWith(labelName, pos)) return false;
    pos += labelName.length;
    if (key.charCodeAt(pos) !== 61 /* = */ || key.charCodeAt(pos + 1) !== 34 /* " */) return false;
    pos += 2;
    if (!key.startsWith(value, pos)) return false;
    pos += value.length;
    if (key.charCodeAt(pos) !== 34) return false;
    pos++;
  }
  return key.charCodeAt(pos) === 125 /* } */ && pos + 1 === key.length;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Hash of a series from its name and sorted labels. */
function hashSeries(
  name: string,
  names: readonly string[],
  labels: Readonly<Record<string, string>>,
): number {
  let hash = hashString(FNV_OFFSET, name);
  for (let i = 0; i < names.length; i++) {
    const labelName = names[i] as string;
    hash = hashString(Math.imul(hash ^ 0x7b, FNV_PRIME), labelName);
    hash = hashString(Math.imul(hash ^ 0x3d, FNV_PRIME), labels[labelName] as string);
  }
  return hash;
}

/**
 * Parses a canonical series key back into name and labels (the inverse of `seriesKey`);
 * undefined when the text is not one.
 */
export function parseSeriesKey(
  key: string,
): { name: string; labels: Record<string, string> } | undefined {
  const brace = key.indexOf('{');
  if (brace < 0) return key.length > 0 ? { name: key, labels: {} } : undefined;
  if (!key.endsWith('}')) return undefined;
  const name = key.slice(0, brace);
  const labels: Record<string, string> = {};
  let pos = brace + 1;
  while (pos < key.length - 1) {
    const eq = key.indexOf('="', pos);
    if (eq < 0) return undefined;
    const labelName = key.slice(pos, eq);
    let end = eq + 2;
    let value = '';
    while (end < key.length && key[end] !== '"') {
      if (key[end] === '\\') {
        const next = key[end + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        end += 2;
      } else {
        value += key[end];
        end++;
      }
    }
    labels[labelName] = value;
    pos = end + 1;
    if (key[pos] === ',') pos++;
  }
  return { name, labels };
}

/** FNV-1a over UTF-16 code units, continuing from `hash`. */
function hashString(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

function escapeLabelValue(value: string): string {
  return value.indexOf('\\') < 0 && value.indexOf('"') < 0 && value.indexOf('\n') < 0
    ? value
    : value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
