/**
 * healcast's scorer for the Numenta Anomaly Benchmark: NAB's published method
 * re-implemented (windows, probation, scaled sigmoid, the three profiles, one best threshold
 * per profile, normalisation between the null and the perfect detector). Pure: callers read
 * `combined_windows.json` and the detector's results and hand over values.
 *
 * Typical use: `parseNabWindows(JSON.parse(text))` → for each data file build a
 * `NabFileScores` (`timestampsMs` via `nabTimestampMs`, the detector's `scores`, the file's
 * windows from the map, `[]` if it has none) → `nabScoreboard(files)`.
 *
 * Conventions, as recalled from NAB's description and scorer (each one is where the code
 * that applies it says why):
 * - Probation: the first min(floor(0.15·n), 750) rows of a file are not scored.
 * - A detection is a scored row with score ≥ threshold; one threshold for all files.
 * - A window's earliest detection earns A_TP·σ(y)/σ(−1), y = −(R−i+1)/(R−L+1): exactly
 *   A_TP on the window's first row (NAB divides by σ(−1) ≈ 0.987, so the perfect detector
 *   earns A_TP per window), σ(−1/w)/σ(−1) ≈ 0 on its last row; later detections in the
 *   window count for nothing.
 * - A detection outside windows costs A_FP·σ(y), y = (i−R_prev)/(w_prev−1) after the last
 *   window that ended before it (σ = −1 beyond y = 3), or the full −A_FP with none before.
 * - A window without a detection costs A_FN. Windows with no scored row (entirely in
 *   probation, or in a gap of the data) are not counted at all. True negatives add 0.
 * - Best threshold: the highest among those with the maximal summed raw score (NAB's sweep
 *   order), 1.1 meaning "never fires".
 * - Normalised = 100·(raw − null)/(perfect − null), null = −A_FN·W, perfect = A_TP·W over
 *   the W counted windows (NAB counts every labelled window; same on NAB's corpus, where no
 *   window touches probation).
 * Counts differ from NAB's output on purpose: `tp`/`fn` count windows, `fp` counts detected
 * rows outside windows (NAB's scorer tallies rows for all four).
 */
export type { NabFileScores } from './fileScores.js';
export { nabNormalise, nabScoreboard, optimiseNab, type NabOptimum } from './optimise.js';
export { NAB_PROFILES, NabProfileNameSchema, type NabProfileName } from './profiles.js';
export { nabWindowRows } from './rowWeights.js';
export {
  NAB_MAX_TP_SIGMOID,
  NAB_NO_DETECTION_THRESHOLD,
  nabProbationRows,
  nabScaledSigmoid,
} from './rules.js';
export { scoreNab } from './score.js';
export { nabTimestampMs, tryNabTimestampMs } from './timestamp.js';
export { parseNabWindows } from './windows.js';
