/**
 * The fixed rules of the Numenta Anomaly Benchmark (NAB) scoring method, re-implemented from
 * its published description (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection
 * Algorithms — the Numenta Anomaly Benchmark", 2015, and NAB's README/whitepaper). No NAB
 * code was copied. Pure functions of plain numbers.
 */

/** Share of a file's rows, from its start, that a detector may use to learn (NAB: 15%). */
export const NAB_PROBATION_RATIO = 0.15;

/**
 * NAB caps the probationary period as if files were never longer than 5000 rows
 * (`min(floor(0.15·n), 0.15·5000)`), so it never exceeds 750 rows.
 */
export const NAB_PROBATION_CAP_ROWS = Math.floor(NAB_PROBATION_RATIO * 5000);

/**
 * Threshold that no score in [0,1] reaches: "the detector never fires". NAB's sweep starts
 * from 1.1 for the same purpose; keeping its value makes our optimum readable side by side.
 */
export const NAB_NO_DETECTION_THRESHOLD = 1.1;

/**
 * Relative positions beyond this many window lengths after a window are "far away": NAB
 * clamps the sigmoid to exactly −1 there (it is −0.9999994 at 3 anyway).
 */
export const NAB_FAR_POSITION = 3;

/**
 * Number of leading rows of a file of `rowCount` rows that are not scored (probation):
 * detections there count for nothing, and windows entirely inside it are not counted.
 */
export function nabProbationRows(rowCount: number): number {
  return Math.min(Math.floor(NAB_PROBATION_RATIO * rowCount), NAB_PROBATION_CAP_ROWS);
}

/**
 * NAB's scaled sigmoid σ(y) = 2/(1+e^{5y}) − 1, in (−1, 1), decreasing in y, σ(0) = 0.
 *
 * `y` is a relative position: inside a window y runs from −1 (first row) towards 0 (just
 * after the last row), so early detections get ≈ +0.987; after a window y is the distance
 * past it in window lengths, so a false positive right after a window costs ≈ 0 and one
 * far away (y > 3) costs the full −1.
 */
export function nabScaledSigmoid(y: number): number {
  if (y > NAB_FAR_POSITION) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/**
 * σ(−1) ≈ 0.98661: the unweighted reward of a detection on a window's first row. NAB divides
 * true-positive rewards by it so that the earliest possible detection earns exactly A_TP —
 * which is what makes the perfect detector's raw score A_TP × (number of windows).
 */
export const NAB_MAX_TP_SIGMOID = nabScaledSigmoid(-1);
