import {
  inputLength,
  windowScale,
  writeInputs,
  writeTargets,
  type FeatureSpec,
  type WindowScale,
} from '../forecast/features.js';
import type { Series } from './traces.js';

/**
 * Training windows, built only through the shared feature module (src/forecast/features.ts),
 * so a window here is bit-for-bit what the worker feeds the model for the same values.
 *
 * Split: each series segment is cut in time — the last `validationFraction` of its steps is
 * validation, the rest training — and no window (inputs or targets) crosses the cut, so no
 * validation value ever reaches training, not even as an input. The training part's own tail
 * (`earlyStoppingFraction` of it) can be cut off the same way as the early-stopping set: the
 * epoch whose weights are kept is chosen on it, so the validation part stays unseen by every
 * decision of the training run and its scores are honest.
 */

/** One window: which series segment, where it ends, and its normalisation. */
export interface WindowMeta {
  /** Index into the series array given to {@link buildDataset}. */
  readonly series: number;
  /** Index of the window's last input value (the forecast origin) in the segment. */
  readonly end: number;
  readonly scale: WindowScale;
}

/** Windows in the layout the model takes: row-major inputs and targets. */
export interface WindowSet {
  /** `count × inputLength(spec)` features. */
  readonly inputs: Float32Array;
  /** `count × horizonSteps` targets (changes from the last value in units of σ). */
  readonly targets: Float32Array;
  readonly count: number;
  readonly meta: WindowMeta[];
}

/** Options of {@link buildDataset}. */
export interface DatasetOptions {
  readonly spec: FeatureSpec;
  /** Time-ordered tail share of every segment kept for validation, 0 < ratio < 1. */
  readonly validationFraction: number;
  /** Steps between consecutive training windows (1 = every position). */
  readonly stride: number;
  /** Most training windows kept (spread evenly over series, picked at random); all if unset. */
  readonly maxTrainWindows?: number;
  /** Tail share of each training part held out for early stopping; 0 (default) for none. */
  readonly earlyStoppingFraction?: number;
  /** Most early-stopping windows kept (balanced like the training ones); all if unset. */
  readonly maxEarlyStoppingWindows?: number;
  /** Seeded random source in [0, 1) for the subsample. */
  readonly random: () => number;
}

/** The windows of a dataset and where every segment was cut. */
export interface Dataset {
  readonly train: WindowSet;
  /** Windows of the training parts' tails that pick the epoch (empty without early stopping). */
  readonly earlyStopping: WindowSet;
  readonly validation: WindowSet;
  /** Per segment, the first validation index (`values[0..split)` is the training part). */
  readonly splits: number[];
  /** Training windows available before subsampling. */
  readonly trainWindowsAvailable: number;
}

/** First validation index of a segment of `length` steps. */
export function splitIndex(length: number, validationFraction: number): number {
  return length - Math.floor(length * validationFraction);
}

/**
 * Ends (last input index) of the training windows of a segment: inputs and targets inside
 * `[0, split)`, every `stride` steps, the last possible window always included.
 */
export function trainEnds(split: number, spec: FeatureSpec, stride: number): number[] {
  const first = spec.windowSteps - 1;
  const last = split - 1 - spec.horizonSteps;
  const ends: number[] = [];
  if (last < first) return ends;
  // Anchored at the end, so the windows nearest the split (the most recent) are never skipped.
  for (let e = last; e >= first; e -= stride) ends.push(e);
  return ends.reverse();
}

/** Ends of the validation windows of a segment: inputs and targets inside `[split, length)`. */
export function validationEnds(
  length: number,
  split: number,
  spec: FeatureSpec,
  stride = 1,
): number[] {
  const ends: number[] = [];
  for (let e = split + spec.windowSteps - 1; e + spec.horizonSteps <= length - 1; e += stride) {
    ends.push(e);
  }
  return ends;
}

/** Writes the inputs and targets of the given windows. */
export function buildWindows(
  series: readonly Series[],
  windows: readonly { series: number; end: number }[],
  spec: FeatureSpec,
): WindowSet {
  const nIn = inputLength(spec);
  const nOut = spec.horizonSteps;
  const inputs = new Float32Array(windows.length * nIn);
  const targets = new Float32Array(windows.length * nOut);
  const meta: WindowMeta[] = [];
  for (let w = 0; w < windows.length; w++) {
    const { series: s, end } = windows[w] as { series: number; end: number };
    const segment = series[s] as Series;
    const values = segment.values;
    const first = end - spec.windowSteps + 1;
    const valueAt = (i: number): number => values[first + i] as number;
    const scale = windowScale(spec, valueAt);
    const endTsMs = segment.startMs + end * segment.stepMs;
    writeInputs(spec, valueAt, endTsMs, segment.stepMs, scale, inputs, w * nIn);
    writeTargets(spec, (h) => values[end + 1 + h] as number, scale, targets, w * nOut);
    meta.push({ series: s, end, scale });
  }
  return { inputs, targets, count: windows.length, meta };
}

/**
 * A seeded pseudo-random source (mulberry32): the same seed gives the same subsample, so a
 * training run can be repeated exactly.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * How many of each group's items to keep so that at most `total` are kept and no group gets
 * more than another unless the other ran out (water-filling): a 30-second trace with ten
 * times the rows of a 5-minute one must not drown it.
 */
export function balancedQuotas(available: readonly number[], total: number): number[] {
  const quotas = available.map(() => 0);
  let left = total;
  let open = available.map((_, i) => i).filter((i) => (available[i] as number) > 0);
  while (left > 0 && open.length > 0) {
    const share = Math.max(1, Math.floor(left / open.length));
    const next: number[] = [];
    for (const i of open) {
      if (left <= 0) break;
      const take = Math.min(share, (available[i] as number) - (quotas[i] as number), left);
      quotas[i] = (quotas[i] as number) + take;
      left -= take;
      if ((quotas[i]) < (available[i] as number)) next.push(i);
    }
    open = next;
  }
  return quotas;
}

/** `k` of `items` picked at random (partial Fisher–Yates), returned in their original order. */
export function sample<T>(items: readonly T[], k: number, random: () => number): T[] {
  if (k >= items.length) return [...items];
  const index = items.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (index.length - i));
    const tmp = index[i] as number;
    index[i] = index[j] as number;
    index[j] = tmp;
  }
  return index
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => items[i] as T);
}

/**
 * Training, early-stopping and validation windows of all segments. Validation keeps every
 * position (stride 1) because breach metrics follow the forecast step by step; training and
 * early stopping use `stride` and, when a maximum is set, a seeded subsample balanced over
 * series names (segments of one series share its quota).
 */
export function buildDataset(series: readonly Series[], options: DatasetOptions): Dataset {
  const { spec, validationFraction, stride } = options;
  const splits = series.map((s) => splitIndex(s.values.length, validationFraction));
  const train = new Map<string, { series: number; end: number }[]>();
  const monitor = new Map<string, { series: number; end: number }[]>();
  const validationWindows: { series: number; end: number }[] = [];
  const listOf = (
    map: Map<string, { series: number; end: number }[]>,
    name: string,
  ): { series: number; end: number }[] => {
    let list = map.get(name);
    if (!list) map.set(name, (list = []));
    return list;
  };
  series.forEach((s, i) => {
    const split = splits[i] as number;
    const inner = splitIndex(split, options.earlyStoppingFraction ?? 0);
    const trainList = listOf(train, s.name);
    for (const end of trainEnds(inner, spec, stride)) trainList.push({ series: i, end });
    if (inner < split) {
      const monitorList = listOf(monitor, s.name);
      // The early-stopping windows lie in [inner, split): validationEnds on the training part.
      for (const end of validationEnds(split, inner, spec, stride)) {
        monitorList.push({ series: i, end });
      }
    }
    for (const end of validationEnds(s.values.length, split, spec)) {
      validationWindows.push({ series: i, end });
    }
  });
  const available = [...train.values()].reduce((n, g) => n + g.length, 0);
  return {
    train: buildWindows(series, balancedSample(train, options.maxTrainWindows, options.random), spec),
    earlyStopping: buildWindows(
      series,
      balancedSample(monitor, options.maxEarlyStoppingWindows, options.random),
      spec,
    ),
    validation: buildWindows(series, validationWindows, spec),
    splits,
    trainWindowsAvailable: available,
  };
}

/** All windows, or at most `max` of them balanced over the groups (series names). */
function balancedSample(
  groups: ReadonlyMap<string, { series: number; end: number }[]>,
  max: number | undefined,
  random: () => number,
): { series: number; end: number }[] {
  const lists = [...groups.values()];
  const available = lists.reduce((n, g) => n + g.length, 0);
  if (max === undefined || max >= available) return lists.flat();
  const quotas = balancedQuotas(
    lists.map((g) => g.length),
    max,
  );
  return lists.flatMap((g, i) => sample(g, quotas[i] as number, random));
}

/** A subset of a window set (e.g. a smaller validation set for per-epoch losses). */
export function subsetWindows(
  set: WindowSet,
  spec: FeatureSpec,
  indices: readonly number[],
): WindowSet {
  const nIn = inputLength(spec);
  const nOut = spec.horizonSteps;
  const inputs = new Float32Array(indices.length * nIn);
  const targets = new Float32Array(indices.length * nOut);
  const meta: WindowMeta[] = [];
  indices.forEach((w, k) => {
    inputs.set(set.inputs.subarray(w * nIn, (w + 1) * nIn), k * nIn);
    targets.set(set.targets.subarray(w * nOut, (w + 1) * nOut), k * nOut);
    meta.push(set.meta[w] as WindowMeta);
  });
  return { inputs, targets, count: indices.length, meta };
}
