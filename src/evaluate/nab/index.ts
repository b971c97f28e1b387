/**
 * healcast's scorer for the Numenta Anomaly Benchmark: NAB's published method
 * re-implemented (windows, probation, scaled sigmoid, the three profiles, one best threshold
 * per profile, normalisation between the null and the perfect detector). Pure: callers read
 * `combined_windows.json` and the detector's results and hand over values.
 *
 * Typical use: `parseNabWindows(JSON.parse(text))` → for each data file build a
 * `NabFileScores` (`timestampsMs` via `nabTimestampMs`, the detector's `scores`, the file's
 * windows from the map, `[]` if it has none) → `nabScoreboard(files)`.
 */
export { NabFileScoresSchema, checkNabFile, type NabFileScores } from './fileScores.js';
export { nabNormalise, nabScoreboard, optimiseNab, type NabOptimum } from './optimise.js';
export {
  NAB_PROFILES,
  NabProfileNameSchema,
  NabProfileSchema,
  type NabProfile,
  type NabProfileName,
} from './profiles.js';
export { nabFileGeometry, nabWindowRows, type NabFileGeometry } from './rowWeights.js';
export {
  NAB_MAX_TP_SIGMOID,
  NAB_NO_DETECTION_THRESHOLD,
  NAB_PROBATION_CAP_ROWS,
  NAB_PROBATION_RATIO,
  nabProbationRows,
  nabScaledSigmoid,
} from './rules.js';
export { scoreNab, scoreNabFile, type NabFileResult, type NabScore } from './score.js';
export { nabTimestampMs, tryNabTimestampMs } from './timestamp.js';
export { NabWindowsFileSchema, parseNabWindows, type NabWindow } from './windows.js';
