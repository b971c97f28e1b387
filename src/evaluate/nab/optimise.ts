import { HealcastError } from '../../errors.js';
import type { NabFileScores } from './fileScores.js';
import { NAB_PROFILES, type NabProfile, type NabProfileName } from './profiles.js';
import { nabFileGeometry, type NabFileGeometry } from './rowWeights.js';
import { NAB_NO_DETECTION_THRESHOLD } from './rules.js';
import { scoreNabFile, sumNabResults, type NabScore } from './score.js';

/** A detector's NAB result under one profile, at the threshold that suits it best. */
export interface NabOptimum extends NabScore {
  /**
   * The single threshold, shared by all files, that maximises the summed raw score: one of
   * the detector's score values, or `NAB_NO_DETECTION_THRESHOLD` (1.1) when never firing is
   * best. Ties go to the highest threshold, as in NAB's sweep.
   */
  readonly threshold: number;
  /** 100·(raw − rawNull)/(rawPerfect − rawNull): 0 = never fires, 100 = perfect. */
  readonly normalised: number;
  /** Raw score of the null detector (never fires): −A_FN × windows. */
  readonly rawNull: number;
  /** Raw score of the perfect detector (fires on every window's first row only): A_TP × windows. */
  readonly rawPerfect: number;
}

/** Raw scores of the null (never fires) and the perfect detector over `windows` windows. */
function nabBounds(
  windows: number,
  profile: NabProfile,
): Pick<NabOptimum, 'rawNull' | 'rawPerfect'> {
  return { rawNull: -profile.fnWeight * windows, rawPerfect: profile.tpWeight * windows };
}

/**
 * NAB's normalisation of a raw score over `windows` counted windows. Throws `DATA_INVALID`
 * when there is no window: the null and perfect detectors then score the same and the
 * scale is undefined.
 */
export function nabNormalise(raw: number, windows: number, profile: NabProfile): number {
  const { rawNull, rawPerfect } = nabBounds(windows, profile);
  if (!(rawPerfect > rawNull))
    throw new HealcastError(
      'DATA_INVALID',
      'NAB normalisation needs at least one labelled window after probation',
      { retriable: false },
    );
  return (100 * (raw - rawNull)) / (rawPerfect - rawNull);
}

/**
 * Finds the best shared threshold in one pass: every scored row of every file, sorted by
 * anomaly score from high to low, is "switched on" in turn, and the running raw score is
 * updated by what that row changes — a false positive adds its cost; a window row adds its
 * reward, minus the previous best reward of its window if it had one (an earlier row
 * earns more, so the window's score is its best detected row's), plus A_FN the first time
 * (the window stops being missed). The total after each group of equal scores is the raw
 * score at that threshold. O(n log n) for n scored rows instead of O(thresholds × n).
 */
function bestThreshold(
  geometries: readonly NabFileGeometry[],
  files: readonly NabFileScores[],
  profile: NabProfile,
): number {
  let rowCount = 0;
  let windowCount = 0;
  for (const geometry of geometries) rowCount += geometry.rowValue.length - geometry.probationRows;
  const score = new Float64Array(rowCount);
  const value = new Float64Array(rowCount);
  const window = new Int32Array(rowCount);
  let k = 0;
  geometries.forEach((geometry, f) => {
    const file = files[f] as NabFileScores;
    const scores = file.scores;
    for (let i = geometry.probationRows; i < geometry.rowValue.length; i++, k++) {
      const local = geometry.windowOfRow[i] as number;
      const rowValue = geometry.rowValue[i] as number;
      score[k] = scores[i] as number;
      window[k] = local === -1 ? -1 : windowCount + local;
      value[k] = (local === -1 ? profile.fpWeight : profile.tpWeight) * rowValue;
    }
    // Global window ids: this file's window w is windowCount + w.
    windowCount += file.windows.length;
  });

  const order = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) order[i] = i;
  order.sort((a, b) => (score[b] as number) - (score[a] as number));

  const bestReward = new Float64Array(windowCount).fill(Number.NaN);
  let counted = 0;
  for (const geometry of geometries) counted += geometry.countedWindows;
  let total = -profile.fnWeight * counted;
  let best = total;
  let threshold = NAB_NO_DETECTION_THRESHOLD;
  for (let n = 0; n < rowCount;) {
    const groupScore = score[order[n] as number] as number;
    for (; n < rowCount && score[order[n] as number] === groupScore; n++) {
      const row = order[n] as number;
      const w = window[row] as number;
      const reward = value[row] as number;
      if (w === -1) {
        total += reward;
        continue;
      }
      const previous = bestReward[w] as number;
      if (Number.isNaN(previous)) {
        total += profile.fnWeight + reward;
        bestReward[w] = reward;
      } else if (reward > previous) {
        total += reward - previous;
        bestReward[w] = reward;
      }
    }
    // Strictly better only: on a tie the higher threshold (seen first) stays.
    if (total > best) {
      best = total;
      threshold = groupScore;
    }
  }
  return threshold;
}

function optimiseGeometries(
  geometries: readonly NabFileGeometry[],
  files: readonly NabFileScores[],
  profile: NabProfile,
): NabOptimum {
  const threshold = bestThreshold(geometries, files, profile);
  // Rescored at the chosen threshold so raw and counts are exact, not a running sum.
  const result = sumNabResults(
    geometries.map((geometry, f) =>
      scoreNabFile(geometry, (files[f] as NabFileScores).scores, profile, threshold),
    ),
  );
  return {
    ...result,
    threshold,
    normalised: nabNormalise(result.raw, result.windows, profile),
    ...nabBounds(result.windows, profile),
  };
}

/**
 * NAB's result of a detector under one profile: the single threshold shared by all files
 * that maximises the summed raw score, and that score raw and normalised. Throws
 * `DATA_INVALID` on malformed input or when no window is left to score.
 */
export function optimiseNab(files: readonly NabFileScores[], profile: NabProfile): NabOptimum {
  return optimiseGeometries(files.map(nabFileGeometry), files, profile);
}

/** {@link optimiseNab} under each of NAB's three published profiles (threshold per profile). */
export function nabScoreboard(files: readonly NabFileScores[]): Record<NabProfileName, NabOptimum> {
  const geometries = files.map(nabFileGeometry);
  const board = {} as Record<NabProfileName, NabOptimum>;
  for (const [name, profile] of Object.entries(NAB_PROFILES) as [NabProfileName, NabProfile][])
    board[name] = optimiseGeometries(geometries, files, profile);
  return board;
}
