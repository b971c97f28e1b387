import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration: a non-negative number of milliseconds, or a string such as `"5m"`,
 * `"1h30m"`, `"250ms"`, `"10s"` (units ms, s, m, h, d, w; parts may be combined).
 * Returns milliseconds, or `undefined` when the text is not a duration.
 */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? input : undefined;
  }
  const text = input.trim();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  let totalMs = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/.exec(rest);
    if (!match) return undefined;
    totalMs += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return totalMs;
}

/** zod schema for a duration field: accepts `"5m"`-style strings or milliseconds, yields ms. */
export const DurationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration ${JSON.stringify(value)}: use milliseconds or a string like "30s", "5m", "1h30m"`,
    });
    return z.NEVER;
  }
  return ms;
});

const FORMAT_UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** Milliseconds as the shortest exact `1h30m`-style string (the inverse of `parseDurationMs`). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of FORMAT_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  // Fractional milliseconds cannot come from "5m"-style strings, only from raw numbers.
  return rest > 0 ? `${ms}ms` : text;
}
