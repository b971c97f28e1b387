import { z } from 'zod';
import { formatIssues } from '../../config/assemble.js';
import { HealcastError } from '../../errors.js';
import { tryNabTimestampMs } from './timestamp.js';

/**
 * NAB's labelled anomaly windows (`labels/combined_windows.json`): for each data file,
 * by its path relative to the data folder (`category/file.csv`), the list of
 * `[start, end]` timestamps of its windows. Both ends are inclusive and are, in NAB's
 * corpus, timestamps of actual rows. A file with no anomaly has an empty list — it still
 * matters, because every detection in it is a false positive.
 */

/** One window as inclusive epoch-ms bounds `[startMs, endMs]` (UTC-naive timestamps read as UTC). */
export type NabWindow = readonly [startMs: number, endMs: number];

/** A NAB timestamp text, parsed to epoch ms (UTC-naive read as UTC). */
export const NabTimestampSchema = z.string().transform((text, ctx) => {
  const ms = tryNabTimestampMs(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a NAB timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])' });
    return z.NEVER;
  }
  return ms;
});

const NabWindowSchema = z
  .tuple([NabTimestampSchema, NabTimestampSchema])
  .refine(([startMs, endMs]) => startMs <= endMs, { message: 'window ends before it starts' });

/**
 * The shape of `combined_windows.json`. Windows of one file must be in time order and must
 * not overlap: NAB's scorer walks them in order and gives each row to at most one window.
 */
export const NabWindowsFileSchema = z.record(
  z.string().min(1),
  z.array(NabWindowSchema).superRefine((windows, ctx) => {
    for (let i = 1; i < windows.length; i++) {
      const previous = windows[i - 1];
      const current = windows[i];
      if (previous !== undefined && current !== undefined && current[0] <= previous[1])
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message:
            'window starts before the previous one ends (windows must be ordered and disjoint)',
        });
    }
  }),
);

/**
 * Parses the content of a `combined_windows.json` (already JSON-decoded). Throws a
 * non-retriable `DATA_INVALID` error listing every problem with its path (file key and
 * window index) when the content does not have that shape.
 */
export function parseNabWindows(json: unknown): Map<string, NabWindow[]> {
  const parsed = NabWindowsFileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error, json);
    throw new HealcastError('DATA_INVALID', `invalid NAB windows:\n  ${lines.join('\n  ')}`, {
      retriable: false,
    });
  }
  return new Map(Object.entries(parsed.data));
}
