const CHUNK_SERIES = 4096;

/**
 * Recent values of many series on a regular step, for forecasting: one ring of `windowSteps`
 * values per series slot, stored in chunks of 4,096 series allocated on first use (a million
 * series that are never forecast cost nothing; one that is costs 4 bytes per step).
 *
 * A series' step is learned from its sampling interval. A sample more than one step after
 * the previous one forward-fills the missed steps with the previous value (a short scrape
 * miss should not make the window jump); a gap longer than the window restarts the history.
 */
export class SeriesHistory {
  private readonly chunks: (Float64Array | undefined)[] = [];
  /** Values currently in each ring (≤ windowSteps). */
  readonly length: Uint16Array;
  /** Ring index of the next write. */
  private readonly head: Uint16Array;
  /** Series step (ms), 0 until two samples were seen. */
  readonly stepMs: Float64Array;
  /** Timestamp of the newest value. */
  readonly lastTsMs: Float64Array;

  constructor(
    readonly capacity: number,
    readonly windowSteps: number,
  ) {
    this.length = new Uint16Array(capacity);
    this.head = new Uint16Array(capacity);
    this.stepMs = new Float64Array(capacity);
    this.lastTsMs = new Float64Array(capacity);
  }

  /** Forgets a slot (evicted series). */
  reset(slot: number): void {
    this.length[slot] = 0;
    this.head[slot] = 0;
    this.stepMs[slot] = 0;
    this.lastTsMs[slot] = 0;
  }

  /** Appends a sample at `tsMs` (later than the previous one). */
  push(slot: number, value: number, tsMs: number): void {
    const ring = this.ring(slot);
    const base = (slot % CHUNK_SERIES) * this.windowSteps;
    const count = this.length[slot] as number;
    if (count > 0) {
      const dtMs = tsMs - (this.lastTsMs[slot] as number);
      const known = this.stepMs[slot] as number;
      // The step is the smallest interval seen, smoothed: jitter around a scrape interval
      // must not look like a new step, and one early sample must not halve it for good.
      const step = known === 0 ? dtMs : dtMs < known * 0.75 ? known * 0.9 + dtMs * 0.1 : known;
      this.stepMs[slot] = step;
      const steps = Math.round(dtMs / step);
      if (steps > this.windowSteps) {
        this.length[slot] = 0;
        this.head[slot] = 0;
      } else if (steps > 1) {
        const previous = this.valueAt(slot, this.windowSteps - 1);
        for (let k = 1; k < steps; k++) this.write(ring, base, slot, previous);
      }
    }
    this.write(ring, base, slot, value);
    this.lastTsMs[slot] = tsMs;
  }

  /**
   * Multiplies the slot's values observed at or before `throughTsMs` by `factor` (finite,
   * > 0): re-expresses the past in a new unit, e.g. a per-replica load after the replica count
   * changed at `throughTsMs` (see `ForecastEngine.rescale`). Values after it were measured in
   * the new unit already (the news of a change can arrive after samples that reflect it).
   */
  rescale(slot: number, factor: number, throughTsMs: number): void {
    const ring = this.chunks[Math.floor(slot / CHUNK_SERIES)];
    if (ring === undefined || !(factor > 0) || !Number.isFinite(factor)) return;
    const w = this.windowSteps;
    const count = this.length[slot] as number;
    const lastTsMs = this.lastTsMs[slot] as number;
    const stepMs = this.stepMs[slot] as number;
    // Values newer than throughTsMs: the newest `skip` of the window (value k steps back from
    // the newest is at lastTsMs − k·step).
    const skip =
      throughTsMs >= lastTsMs
        ? 0
        : stepMs > 0
          ? Math.ceil((lastTsMs - throughTsMs) / stepMs - 1e-9)
          : count;
    const base = (slot % CHUNK_SERIES) * w;
    const head = this.head[slot] as number;
    for (let k = skip; k < count; k++) {
      const index = base + ((head + w - 1 - k) % w);
      ring[index] = (ring[index] as number) * factor;
    }
  }

  /** True when the slot holds a full window and knows its step. */
  isFull(slot: number): boolean {
    return this.length[slot] === this.windowSteps && (this.stepMs[slot] as number) > 0;
  }

  /**
   * Value `i` of the slot's window, oldest first (i = windowSteps − 1 is the newest). Only
   * meaningful for i ≥ windowSteps − length.
   */
  valueAt(slot: number, i: number): number {
    const ring = this.chunks[Math.floor(slot / CHUNK_SERIES)];
    if (ring === undefined) return NaN;
    const base = (slot % CHUNK_SERIES) * this.windowSteps;
    const index = ((this.head[slot] as number) + i) % this.windowSteps;
    return ring[base + index] as number;
  }

  /** Copies the slot's full window, oldest first, into `out` (length windowSteps). */
  copyWindow(slot: number, out: Float64Array): void {
    const ring = this.chunks[Math.floor(slot / CHUNK_SERIES)];
    if (ring === undefined) {
      out.fill(NaN);
      return;
    }
    const w = this.windowSteps;
    const base = (slot % CHUNK_SERIES) * w;
    const head = this.head[slot] as number;
    // Oldest first: the ring from the write position to its end, then from its start.
    out.set(ring.subarray(base + head, base + w), 0);
    out.set(ring.subarray(base, base + head), w - head);
  }

  /** A reader of the slot's window for `writeInputs`/`windowScale`. */
  reader(slot: number): (i: number) => number {
    return (i) => this.valueAt(slot, i);
  }

  private write(ring: Float64Array, base: number, slot: number, value: number): void {
    const head = this.head[slot] as number;
    ring[base + head] = value;
    this.head[slot] = (head + 1) % this.windowSteps;
    const count = this.length[slot] as number;
    if (count < this.windowSteps) this.length[slot] = count + 1;
  }

  private ring(slot: number): Float64Array {
    const index = Math.floor(slot / CHUNK_SERIES);
    let chunk = this.chunks[index];
    if (chunk === undefined) {
      chunk = new Float64Array(CHUNK_SERIES * this.windowSteps);
      this.chunks[index] = chunk;
    }
    return chunk;
  }
}
