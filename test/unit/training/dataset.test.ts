import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FEATURE_SPEC,
  inputLength,
  windowScale,
  writeInputs,
  type FeatureSpec,
} from '../../../src/forecast/features.js';
import {
  balancedQuotas,
  buildDataset,
  seededRandom,
  splitIndex,
  trainEnds,
  validationEnds,
} from '../../../src/training/dataset.js';
import type { Series } from '../../../src/training/traces.js';

const spec: FeatureSpec = { ...DEFAULT_FEATURE_SPEC, windowSteps: 8, horizonSteps: 3 };

function series(name: string, values: number[], stepMs = 60_000, startMs = 1_700_000_000_000): Series {
  return {
    name,
    source: `${name}.csv`,
    segment: 0,
    stepMs,
    startMs,
    values: Float64Array.from(values),
    filledSteps: 0,
  };
}

function wave(n: number, seed = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => 100 + 20 * Math.sin(i / 7) + 5 * random());
}

/** The serving side: values arrive one at a time into a fixed-size ring buffer. */
class Ring {
  private readonly buffer: Float64Array;
  private next = 0;
  private filled = 0;
  constructor(readonly capacity: number) {
    this.buffer = new Float64Array(capacity);
  }
  push(value: number): void {
    this.buffer[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.filled + 1, this.capacity);
  }
  get full(): boolean {
    return this.filled === this.capacity;
  }
  /** i = 0 is the oldest value held. */
  readonly valueAt = (i: number): number =>
    this.buffer[(this.next + i) % this.capacity] as number;
}

describe('windows', () => {
  it('are identical to what the serving side builds from a ring buffer', () => {
    for (const timeFeatures of [true, false]) {
      const s = series('load', wave(200), 300_000);
      const sp = { ...spec, timeFeatures };
      const data = buildDataset([s], {
        spec: sp,
        validationFraction: 0.25,
        stride: 1,
        random: seededRandom(1),
      });
      const windows = new Map<number, Float32Array>();
      const nIn = inputLength(sp);
      for (const set of [data.train, data.validation]) {
        set.meta.forEach((m, k) => windows.set(m.end, set.inputs.slice(k * nIn, (k + 1) * nIn)));
      }
      expect(windows.size).toBeGreaterThan(100);

      const ring = new Ring(sp.windowSteps);
      const served = new Float32Array(nIn);
      let compared = 0;
      s.values.forEach((v, t) => {
        ring.push(v);
        const trained = windows.get(t);
        if (!ring.full || trained === undefined) return;
        const norm = windowScale(sp, ring.valueAt);
        writeInputs(sp, ring.valueAt, s.startMs + t * s.stepMs, s.stepMs, norm, served, 0);
        expect(served).toEqual(trained);
        compared++;
      });
      expect(compared).toBe(windows.size);
    }
  });

  it('targets are the next values as changes from the last one in units of σ', () => {
    const s = series('x', wave(60));
    const data = buildDataset([s], { spec, validationFraction: 0.3, stride: 1, random: seededRandom(1) });
    const k = 5;
    const m = data.train.meta[k];
    if (!m) throw new Error('no window');
    for (let h = 0; h < spec.horizonSteps; h++) {
      const expected = ((s.values[m.end + 1 + h] as number) - m.scale.last) / m.scale.scale;
      expect(data.train.targets[k * spec.horizonSteps + h]).toBeCloseTo(expected, 5);
    }
    expect(m.scale.last).toBe(s.values[m.end]);
  });
});

describe('split', () => {
  it('keeps the time-ordered tail for validation and no window crosses it', () => {
    const a = series('a', wave(100, 1));
    const b = series('b', wave(57, 2));
    const data = buildDataset([a, b], {
      spec,
      validationFraction: 0.2,
      stride: 1,
      random: seededRandom(3),
    });
    expect(data.splits).toEqual([80, 57 - 11]);
    for (const m of data.train.meta) {
      const split = data.splits[m.series] as number;
      expect(m.end + spec.horizonSteps).toBeLessThan(split); // last target before the split
    }
    for (const m of data.validation.meta) {
      const split = data.splits[m.series] as number;
      expect(m.end - spec.windowSteps + 1).toBeGreaterThanOrEqual(split); // first input after it
    }
    // Every possible window on each side is there.
    expect(data.train.count).toBe(80 - 8 - 3 + 1 + (46 - 8 - 3 + 1));
    expect(data.validation.count).toBe(20 - 8 - 3 + 1 + (11 - 8 - 3 + 1));
  });

  it('holds out the training part’s tail for early stopping, apart from both', () => {
    const s = series('a', wave(200));
    const data = buildDataset([s], {
      spec,
      validationFraction: 0.2,
      earlyStoppingFraction: 0.25,
      stride: 1,
      random: seededRandom(3),
    });
    const split = 160;
    const inner = 120;
    expect(Math.max(...data.train.meta.map((m) => m.end + spec.horizonSteps))).toBe(inner - 1);
    expect(Math.min(...data.earlyStopping.meta.map((m) => m.end - spec.windowSteps + 1))).toBe(inner);
    expect(Math.max(...data.earlyStopping.meta.map((m) => m.end + spec.horizonSteps))).toBe(split - 1);
    expect(Math.min(...data.validation.meta.map((m) => m.end - spec.windowSteps + 1))).toBe(split);
  });

  it('computes split points and ends', () => {
    expect(splitIndex(100, 0.2)).toBe(80);
    expect(splitIndex(10, 0.25)).toBe(8);
    expect(trainEnds(20, spec, 1)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    // Anchored at the most recent window.
    expect(trainEnds(20, spec, 4)).toEqual([8, 12, 16]);
    expect(trainEnds(10, spec, 1)).toEqual([]);
    expect(validationEnds(30, 20, spec)).toEqual([]);
    expect(validationEnds(31, 20, spec)).toEqual([27]);
  });
});

describe('subsampling', () => {
  it('is balanced over series and fixed by the seed', () => {
    const big = series('big', wave(1000, 1));
    const small = series('small', wave(60, 2));
    const build = (seed: number) =>
      buildDataset([big, small], {
        spec,
        validationFraction: 0.2,
        stride: 1,
        maxTrainWindows: 100,
        random: seededRandom(seed),
      });
    const a = build(7);
    expect(a.trainWindowsAvailable).toBe(790 + 38);
    expect(a.train.count).toBe(100);
    const smallCount = a.train.meta.filter((m) => m.series === 1).length;
    expect(smallCount).toBe(38); // all of the small series, the rest from the big one
    expect(a.train.inputs).toEqual(build(7).train.inputs);
    expect(a.train.meta.map((m) => m.end)).not.toEqual(build(8).train.meta.map((m) => m.end));
  });

  it('water-fills quotas', () => {
    expect(balancedQuotas([1000, 10, 1000], 300)).toEqual([145, 10, 145]);
    expect(balancedQuotas([5, 5], 100)).toEqual([5, 5]);
    expect(balancedQuotas([3, 3, 3], 7).reduce((a, b) => a + b, 0)).toBe(7);
  });
});
