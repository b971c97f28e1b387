/**
 * A bounded map from series key to a dense slot number, with least-recently-seen eviction.
 *
 * Label explosions are a fact of life (a pod name or request id leaking into a label), so
 * the number of live series is capped: when the table is full the series seen least recently
 * gives up its slot. The LRU list lives in two Int32Arrays so touching a series is O(1)
 * and allocation-free; per-series state lives in arrays indexed by slot elsewhere.
 */
export class SeriesTable {
  private readonly slots = new Map<string, number>();
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
    this.prev = new Int32Array(capacity).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
  }

  /** Number of live series. */
  get size(): number {
    return this.slots.size;
  }

  /** Slot of `key` without touching its recency, or undefined. */
  peek(key: string): number | undefined {
    return this.slots.get(key);
  }

  /** Key held by `slot`, or undefined when the slot is free. */
  keyOf(slot: number): string | undefined {
    return this.keys[slot];
  }

  /**
   * Returns the slot of `key`, marking it most recently seen. A new key takes a free slot
   * or, when full, the least recently seen one; `evictedKey` then names the series that lost
   * it, so the caller can reset that slot's state.
   */
  touch(key: string): { slot: number; isNew: boolean; evictedKey: string | undefined } {
    const existing = this.slots.get(key);
    if (existing !== undefined) {
      this.moveToHead(existing);
      return { slot: existing, isNew: false, evictedKey: undefined };
    }
    let slot: number;
    let evictedKey: string | undefined;
    if (this.used < this.capacity) {
      slot = this.used++;
    } else {
      slot = this.tail;
      evictedKey = this.keys[slot];
      if (evictedKey !== undefined) this.slots.delete(evictedKey);
      this.unlink(slot);
    }
    this.keys[slot] = key;
    this.slots.set(key, slot);
    this.linkAtHead(slot);
    return { slot, isNew: true, evictedKey };
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
  const names = Object.keys(labels);
  if (names.length === 0) return name;
  names.sort();
  let key = name + '{';
  for (let i = 0; i < names.length; i++) {
    const labelName = names[i] as string;
    if (i > 0) key += ',';
    key += labelName + '="' + escapeLabelValue(labels[labelName] as string) + '"';
  }
  return key + '}';
}

function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}
