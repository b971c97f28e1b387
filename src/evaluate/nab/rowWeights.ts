import { checkNabFile, type NabFileScores } from './fileScores.js';
import { NAB_MAX_TP_SIGMOID, nabProbationRows, nabScaledSigmoid } from './rules.js';

/**
 * What each row of a file would be worth if the detector fired on it — NAB's per-row
 * "sweep score" before the profile's weights. It depends only on the rows and windows, not
 * on the scores or the profile, so one geometry serves every threshold and every profile.
 *
 * Rules (NAB's scorer, as published):
 * - Window rows: window `[L, R]` (first and last row whose timestamp lies within the
 *   window's bounds), width `w = R − L + 1`. Row `i` sits at `y = −(R − i + 1)/w`, −1 on the
 *   first row up to −1/w on the last; its reward is `σ(y)/σ(−1)` ∈ (0, 1], exactly 1 on the
 *   first row. Only a window's earliest detection counts (the scorer enforces it).
 * - Other rows, after a window: `y = (i − R_prev)/(w_prev − 1)` in lengths of the most
 *   recent window that ended before row `i` (also one inside probation), cost `σ(y)` ∈
 *   [−1, 0): ≈ 0 just after the window, −1 from three lengths on. NAB divides by `w − 1`;
 *   for a one-row window that would be 0, so we divide by 1 there (NAB's corpus has none).
 * - Other rows before the first window: cost −1, "as far from a window as can be".
 * - Probation (the first `nabProbationRows(n)` rows) is kept out by the scorer: a row there
 *   is never a detection, but windows that end inside it still serve as "previous window".
 */
export interface NabFileGeometry {
  readonly name: string;
  /** Rows `[0, probationRows)` are not scored. */
  readonly probationRows: number;
  /** Per row: index (in `windows`) of the window that contains it, −1 for none. */
  readonly windowOfRow: Int32Array;
  /** Per row: the unweighted reward (> 0, in a window) or cost (< 0, outside) of firing. */
  readonly rowValue: Float64Array;
  /** Windows with at least one scored row: the ones that count as detected or missed. */
  readonly countedWindows: number;
}

/** First index in `sorted` whose value is ≥ `target` (`sorted.length` if none). */
function lowerBound(sorted: readonly number[], target: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) < target) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Row ranges of windows: for each window, `[first, last]` inclusive row indexes of the rows
 * whose timestamps lie within its bounds, or `undefined` when no row does (a window in a gap
 * of the data, or outside it). Timestamps must be non-decreasing.
 */
export function nabWindowRows(
  timestampsMs: readonly number[],
  windows: NabFileScores['windows'],
): (readonly [first: number, last: number] | undefined)[] {
  return windows.map(([startMs, endMs]) => {
    const first = lowerBound(timestampsMs, startMs);
    // The last row ≤ endMs is the one before the first row > endMs.
    const last = upperBound(timestampsMs, endMs) - 1;
    return first <= last ? ([first, last] as const) : undefined;
  });
}

/** First index in `sorted` whose value is > `target`. */
function upperBound(sorted: readonly number[], target: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) <= target) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Computes a file's {@link NabFileGeometry} after checking its invariants. */
export function nabFileGeometry(file: NabFileScores): NabFileGeometry {
  checkNabFile(file);
  const rowCount = file.timestampsMs.length;
  const probationRows = nabProbationRows(rowCount);
  const windowOfRow = new Int32Array(rowCount).fill(-1);
  const rowValue = new Float64Array(rowCount);
  const ranges = nabWindowRows(file.timestampsMs, file.windows);
  let countedWindows = 0;
  ranges.forEach((range, w) => {
    if (range === undefined) return;
    const [first, last] = range;
    const width = last - first + 1;
    for (let i = first; i <= last; i++) {
      windowOfRow[i] = w;
      rowValue[i] = nabScaledSigmoid(-(last - i + 1) / width) / NAB_MAX_TP_SIGMOID;
    }
    if (last >= probationRows) countedWindows++;
  });
  let previousLast = -1;
  let previousWidth = 0;
  for (let i = 0; i < rowCount; i++) {
    if (windowOfRow[i] !== -1) {
      // Leaving this window at its last row makes it the "previous window" of what follows.
      const range = ranges[windowOfRow[i] as number];
      if (range !== undefined && range[1] === i) {
        previousLast = i;
        previousWidth = range[1] - range[0] + 1;
      }
      continue;
    }
    rowValue[i] =
      previousLast < 0 ? -1 : nabScaledSigmoid((i - previousLast) / Math.max(previousWidth - 1, 1));
  }
  return { name: file.name, probationRows, windowOfRow, rowValue, countedWindows };
}
