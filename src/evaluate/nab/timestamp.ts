import { HealcastError } from '../../errors.js';

/**
 * NAB timestamps: `YYYY-MM-DD HH:MM:SS` in data files and `YYYY-MM-DD HH:MM:SS.ffffff` in
 * `combined_windows.json`, both UTC-naive. We read them as UTC so that the same text always
 * maps to the same instant whatever the machine's zone (no daylight-saving holes or folds).
 */

const NAB_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to the given proleptic Gregorian date (month 1–12). */
function daysFromCivil(year: number, month: number, day: number): number {
  // Hinnant's days_from_civil: shifts the year to start in March so Feb 29 is the last day.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Epoch milliseconds (UTC) of a NAB timestamp, or `undefined` when the text is not one
 * (wrong shape or an impossible date such as 2014-02-30). Microseconds are kept as a
 * fraction of a millisecond.
 */
export function tryNabTimestampMs(text: string): number | undefined {
  const match = NAB_TIMESTAMP.exec(text.trim());
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const micros = Number((match[7] ?? '').padEnd(6, '0'));
  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute) * 60 + second) * 1000 +
    micros / 1000
  );
}

/**
 * Epoch milliseconds (UTC) of a NAB timestamp such as `2014-02-19 10:50:00.000000`.
 * Throws a non-retriable `DATA_INVALID` error naming the text when it is not one; callers that validate whole
 * files use {@link tryNabTimestampMs} and report every bad row instead.
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
