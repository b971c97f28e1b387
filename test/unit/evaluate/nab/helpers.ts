import type { NabFileScores } from '../../../../src/evaluate/nab/index.js';

/** 5-minute rows from 2014-01-01, like NAB's AWS files. */
export const STEP_MS = 300_000;
export const START_MS = Date.UTC(2014, 0, 1);

/**
 * A hand-built file of `rows` rows: windows given as inclusive row ranges, scores all 0
 * except `fire` (row → score).
 */
export function nabFile(
  name: string,
  rows: number,
  windowRows: readonly (readonly [number, number])[],
  fire: Readonly<Record<number, number>> = {},
): NabFileScores {
  const timestampsMs = Array.from({ length: rows }, (_, i) => START_MS + i * STEP_MS);
  const scores = timestampsMs.map((_, i) => fire[i] ?? 0);
  const windows = windowRows.map(
    ([first, last]) => [START_MS + first * STEP_MS, START_MS + last * STEP_MS] as const,
  );
  return { name, timestampsMs, scores, windows };
}
