import { HealcastError } from '../../errors.js';
import { parseTimestamp } from '../../training/traces.js';

/**
 * NAB timestamps: `YYYY-MM-DD HH:MM:SS` in data files and `YYYY-MM-DD HH:MM:SS.ffffff` in
 * `combined_windows.json`, both UTC-naive. We read them as UTC so that the same text always
 * maps to the same instant whatever the machine's zone (no daylight-saving holes or folds).
 * The arithmetic is the trace loader's (`parseTimestamp`); this file only insists on NAB's
 * exact shape and on real calendar dates, because a label that names 2014-02-30 is a broken
 * label, not March 2nd.
 */

const NAB_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Epoch milliseconds (UTC) of a NAB timestamp, or `undefined` when the text is not one
 * (wrong shape, a zone suffix, or an impossible date or time such as 2014-02-30).
 */
export function tryNabTimestampMs(text: string): number | undefined {
  const trimmed = text.trim();
  const match = NAB_TIMESTAMP.exec(trimmed);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const ms = parseTimestamp(trimmed);
  // parseTimestamp allows a leap second (:60); NAB's clocks never show one.
  return ms === undefined || /:60(?:\.|$)/.test(trimmed) ? undefined : ms;
}

/**
 * Epoch milliseconds (UTC) of a NAB timestamp such as `2014-02-19 10:50:00.000000`.
 * Throws a non-retriable `DATA_INVALID` error naming the text when it is not one; callers
 * that validate whole files use {@link tryNabTimestampMs} and report every bad row instead.
 */
export function nabTimestampMs(text: string): number {
  const ms = tryNabTimestampMs(text);
  if (ms === undefined)
    throw new HealcastError(
      'DATA_INVALID',
      `not a NAB timestamp (YYYY-MM-DD HH:MM:SS[.ffffff]): ${JSON.stringify(text)}`,
      { retriable: false },
    );
  return ms;
}
