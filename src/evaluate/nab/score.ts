import type { NabFileScores } from './fileScores.js';
import type { NabProfile } from './profiles.js';
import { nabFileGeometry, type NabFileGeometry } from './rowWeights.js';

/** Counts and raw score of one file at one threshold. */
export interface NabFileResult {
  /** The file's `category/file.csv` key. */
  readonly name: string;
  /** Sum of the file's rewards and costs under the profile (A_TP per ideal detection). */
  readonly raw: number;
  /** Windows with at least one detection (the earliest one earns the reward). */
  readonly tp: number;
  /** Detections (rows, after probation) outside every window. */
  readonly fp: number;
  /** Counted windows without a detection. */
  readonly fn: number;
  /** Windows that count (at least one row after probation): tp + fn. */
  readonly windows: number;
}

/** Totals over all files at one threshold, with the per-file breakdown. */
export interface NabScore {
  readonly raw: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly windows: number;
  readonly perFile: NabFileResult[];
}

/**
 * One file at one threshold. A detection is a row after probation with score ≥ threshold;
 * rows are walked in time order, so the first detection met in a window is its earliest
 * (the only one that counts: it earns A_TP·σ(y)/σ(−1)); every detection outside windows
 * costs A_FP·|σ(y)|; each counted window left without a detection costs A_FN. True
 * negatives add nothing.
 */
export function scoreNabFile(
  geometry: NabFileGeometry,
  scores: NabFileScores['scores'],
  profile: NabProfile,
  threshold: number,
): NabFileResult {
  const { windowOfRow, rowValue, probationRows } = geometry;
  const detected = new Set<number>();
  let raw = 0;
  let fp = 0;
  for (let i = probationRows; i < scores.length; i++) {
    if ((scores[i] as number) < threshold) continue;
    const window = windowOfRow[i] as number;
    if (window === -1) {
      fp++;
      raw += profile.fpWeight * (rowValue[i] as number);
    } else if (!detected.has(window)) {
      detected.add(window);
      raw += profile.tpWeight * (rowValue[i] as number);
    }
  }
  const tp = detected.size;
  const fn = geometry.countedWindows - tp;
  raw -= profile.fnWeight * fn;
  return { name: geometry.name, raw, tp, fp, fn, windows: geometry.countedWindows };
}

/** Sums per-file results. */
export function sumNabResults(perFile: NabFileResult[]): NabScore {
  let raw = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let windows = 0;
  for (const result of perFile) {
    raw += result.raw;
    tp += result.tp;
    fp += result.fp;
    fn += result.fn;
    windows += result.windows;
  }
  return { raw, tp, fp, fn, windows, perFile };
}

/**
 * NAB's raw score of a detector over several files at one threshold shared by all of them
 * (NAB never tunes a threshold per file). Throws `DATA_INVALID` on malformed input (see
 * `checkNabFile`).
 */
export function scoreNab(
  files: readonly NabFileScores[],
  profile: NabProfile,
  threshold: number,
): NabScore {
  return sumNabResults(
    files.map((file) => scoreNabFile(nabFileGeometry(file), file.scores, profile, threshold)),
  );
}
