import { z } from 'zod';
import { HealcastError } from '../../errors.js';

/**
 * One detector's output on one NAB data file, with that file's labelled windows: what the
 * scorer needs, nothing about how it was read. Row `i` has timestamp `timestampsMs[i]` and
 * anomaly score `scores[i]`, in the file's order (time order).
 */
export const NabFileScoresSchema = z.object({
  /** The file's key in `combined_windows.json`: `category/file.csv`. */
  name: z.string().min(1),
  /** Row timestamps, epoch ms, non-decreasing. */
  timestampsMs: z.array(z.number()).readonly(),
  /** The detector's anomaly score per row, in [0,1]. */
  scores: z.array(z.number().min(0).max(1)).readonly(),
  /** The file's windows, inclusive `[startMs, endMs]`, ordered and disjoint. */
  windows: z.array(z.tuple([z.number(), z.number()]).readonly()).readonly(),
});
export type NabFileScores = z.infer<typeof NabFileScoresSchema>;

function invalid(name: string, message: string): HealcastError {
  return new HealcastError('DATA_INVALID', `NAB file ${name}: ${message}`, { retriable: false });
}

/**
 * Checks the invariants the scorer relies on, cheaply (no schema pass over every row):
 * as many scores as timestamps, finite scores in [0,1], finite non-decreasing timestamps,
 * ordered disjoint windows. Throws a non-retriable `DATA_INVALID` error naming the file and
 * the first offending row or window.
 */
export function checkNabFile(file: NabFileScores): void {
  const { name, timestampsMs, scores, windows } = file;
  if (timestampsMs.length !== scores.length)
    throw invalid(name, `${scores.length} scores for ${timestampsMs.length} rows`);
  let previousMs = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] as number;
    const timeMs = timestampsMs[i] as number;
    // Written so that NaN fails too.
    if (!(score >= 0 && score <= 1)) throw invalid(name, `row ${i}: score ${score} not in [0,1]`);
    if (!Number.isFinite(timeMs) || timeMs < previousMs)
      throw invalid(name, `row ${i}: timestamp ${timeMs} not finite or before the previous row`);
    previousMs = timeMs;
  }
  let previousEndMs = -Infinity;
  windows.forEach(([startMs, endMs], w) => {
    if (!(startMs <= endMs) || !(startMs > previousEndMs))
      throw invalid(name, `window ${w}: not ordered, empty or overlapping the previous one`);
    previousEndMs = endMs;
  });
}
