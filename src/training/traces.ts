import { createHash } from 'node:crypto';
import { z } from 'zod';
import { HealcastError } from '../errors.js';

/**
 * Traces for training and evaluation: text (CSV or NDJSON) in, regular series out. Pure: the
 * caller reads the files (src/adapters/fsTraining.ts) or the Kafka topic and hands over text
 * or samples, so every rule here is testable on strings.
 *
 * A model sees one value per step, so every series is put on a regular grid: its step is the
 * median interval between samples, short gaps are filled (zeros or the previous value, by an
 * explicit policy), and long gaps — outages — split the series into segments, because
 * inventing hours of data would teach the model a flat line that never happened.
 */

/** How missing steps inside a short gap are filled. */
export const FillPolicySchema = z.enum(['zero', 'previous']);
export type FillPolicy = z.infer<typeof FillPolicySchema>;

/** Default longest gap (in missing steps) that is filled rather than split at. */
export const DEFAULT_MAX_GAP_STEPS = 3;

/** Names of a CSV's time column (case-insensitive), in order of preference. */
export const TIME_COLUMNS: readonly string[] = ['timestamp', 'time', 'minute', 'date'];

/** One regular series segment: `values[i]` is the value at `startMs + i·stepMs`. */
export interface Series {
  /** `<file>:<column>` for CSV, `name{labels}` for NDJSON and Kafka; segments share it. */
  readonly name: string;
  /** Where it came from (file path or `kafka:<topic>`): the "trace" results are grouped by. */
  readonly source: string;
  /** 0-based index of the segment within its series (a new one after every long gap). */
  readonly segment: number;
  /** Step of the grid, ms. */
  readonly stepMs: number;
  /** Timestamp of `values[0]`, epoch ms. */
  readonly startMs: number;
  readonly values: Float64Array;
  /** Steps that had no sample and were filled. */
  readonly filledSteps: number;
}

/** A loaded trace: its series segments and what was done to them, in words. */
export interface ParsedTrace {
  readonly source: string;
  readonly series: Series[];
  /** Facts worth a line in the report (rule applied, gaps split, segments dropped). */
  readonly notes: string[];
}

/** Options of trace parsing; unset fields fall back to the per-file rule, then the defaults. */
export interface TraceOptions {
  /** Gap filling policy; default `previous` (per-file rules may say otherwise). */
  readonly fill?: FillPolicy;
  /** Longest gap filled, in missing steps; longer gaps split. Default 3. */
  readonly maxGapSteps?: number;
  /** Step of files without a time column (and forced grid step of the others), ms. */
  readonly stepMs?: number;
  /** Timestamp of the first row of a file without a time column, epoch ms; default 0. */
  readonly startMs?: number;
  /** Fewest rows a segment needs to be kept (window + horizon). */
  readonly minRows: number;
  /** Only these columns (CSV column names or NDJSON series names); all numeric ones if unset. */
  readonly columns?: readonly string[];
}

/** A rule for a known kind of file, matched on its base name. */
export interface TraceRule {
  readonly pattern: RegExp;
  readonly fill?: FillPolicy;
  readonly maxGapSteps?: number;
  /** Why the rule exists (printed in the report). */
  readonly why: string;
}

/**
 * Per-file rules. Explicit options win over them; they win over the defaults.
 *
 * - NASA-HTTP per-minute request counts leave out minutes with zero requests (the count came
 *   from log lines, and a minute without a request has none), so an absent minute *is* a 0;
 *   the longest such run in the trace is 45 minutes at night. The two outages (3.4 and 1.6
 *   days, listed in the trace's TERMS.txt) are far longer than the 60-minute limit and split
 *   the series instead of being filled.
 */
export const TRACE_RULES: readonly TraceRule[] = [
  {
    pattern: /nasa_http/i,
    fill: 'zero',
    maxGapSteps: 60,
    why: 'NASA-HTTP: absent minutes had zero requests (filled with 0 up to 60 min); longer gaps are the outages (split)',
  },
];

/**
 * Step given by a file name such as `alibaba2018_machine_usage_days1-8_300s.csv` (Alibaba and
 * Google exports carry no time column, only the step in the name), or undefined.
 */
export function stepFromFileName(file: string): number | undefined {
  const match = /_(\d+)(ms|s|m)\.[A-Za-z0-9]+$/.exec(baseName(file));
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2] === 'ms' ? 1 : match[2] === 's' ? 1000 : 60_000;
  return n > 0 ? n * unit : undefined;
}

/** File name without directories. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

/** File name without directories and extension: the prefix of CSV series names. */
export function traceStem(path: string): string {
  return baseName(path).replace(/\.[^.]*$/, '');
}

function dataError(message: string): HealcastError {
  return new HealcastError('DATA_INVALID', message, { retriable: false });
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * Parses a timestamp to epoch ms: ISO 8601 / RFC 3339 (`2024-01-02T03:04:05Z`, a space instead
 * of `T`, fractions, offsets; no zone = UTC, so a local-time log keeps its local time of day,
 * which is what the daily load cycle follows) or a number of epoch seconds (below 1e11) or
 * milliseconds. Returns undefined when the text is neither.
 */
export function parseTimestamp(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^-?\d+(?:\.\d+)?$/.test(t)) {
    const n = Number(t);
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  const m = ISO_RE.exec(t);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs ?? 0);
  const minute = Number(mis ?? 0);
  const second = Number(ss ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  let ms =
    daysFromCivil(year, month, day) * 86_400_000 +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    (frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000));
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    ms -= sign * offsetMin * 60_000;
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Regularisation

/** Irregular samples of one series, in any order; NaN values count as missing. */
export interface RawPoints {
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** Resolved regularisation settings of one file. */
interface GridSettings {
  readonly fill: FillPolicy;
  readonly maxGapSteps: number;
  readonly stepMs: number | undefined;
  readonly minRows: number;
}

/** Median of the positive intervals between sorted timestamps, or undefined if there are none. */
export function medianIntervalMs(sortedTimestamps: ArrayLike<number>): number | undefined {
  const diffs: number[] = [];
  for (let i = 1; i < sortedTimestamps.length; i++) {
    const d = (sortedTimestamps[i] as number) - (sortedTimestamps[i - 1] as number);
    if (d > 0) diffs.push(d);
  }
  if (diffs.length === 0) return undefined;
  diffs.sort((a, b) => a - b);
  return diffs[Math.floor((diffs.length - 1) / 2)];
}

/** What regularising one series did. */
export interface RegularizeResult {
  readonly segments: Series[];
  readonly stepMs: number;
  /** Gaps longer than `maxGapSteps` that split the series. */
  readonly splits: number;
  /** Segments dropped for having fewer than `minRows` steps. */
  readonly dropped: number;
}

/**
 * Puts one series on a regular grid. The grid is anchored at the first timestamp; each sample
 * goes to its nearest grid slot (the last one wins when two share a slot). Runs of at most
 * `maxGapSteps` empty slots are filled by `fill`; a longer run ends the segment.
 */
export function regularize(
  name: string,
  source: string,
  points: RawPoints,
  settings: GridSettings,
): RegularizeResult {
  const order = Array.from({ length: points.timestamps.length }, (_, i) => i).sort(
    (a, b) =>
      (points.timestamps[a] as number) - (points.timestamps[b] as number) || a - b, // stable
  );
  const ts = order.map((i) => points.timestamps[i] as number);
  const vs = order.map((i) => points.values[i] as number);
  const stepMs = settings.stepMs ?? medianIntervalMs(ts);
  if (stepMs === undefined || ts.length === 0) {
    return { segments: [], stepMs: stepMs ?? 0, splits: 0, dropped: ts.length > 0 ? 1 : 0 };
  }
  const t0 = ts[0] as number;
  const slots = Math.round(((ts[ts.length - 1] as number) - t0) / stepMs) + 1;
  const grid = new Float64Array(slots).fill(Number.NaN);
  for (let i = 0; i < ts.length; i++) {
    const v = vs[i] as number;
    if (Number.isFinite(v)) grid[Math.round(((ts[i] as number) - t0) / stepMs)] = v;
  }
  const segments: Series[] = [];
  let splits = 0;
  let dropped = 0;
  let current: number[] = [];
  let currentStart = -1;
  let filled = 0;
  const close = (): void => {
    if (current.length === 0) return;
    if (current.length >= settings.minRows) {
      segments.push({
        name,
        source,
        segment: segments.length,
        stepMs,
        startMs: t0 + currentStart * stepMs,
        values: Float64Array.from(current),
        filledSteps: filled,
      });
    } else {
      dropped++;
    }
    current = [];
    filled = 0;
  };
  let i = 0;
  while (i < slots) {
    const v = grid[i] as number;
    if (!Number.isNaN(v)) {
      if (current.length === 0) currentStart = i;
      current.push(v);
      i++;
      continue;
    }
    let j = i;
    while (j < slots && Number.isNaN(grid[j])) j++;
    // A gap at the very start cannot happen (slot 0 holds the first sample) and one at the
    // end cannot either (the last slot holds the last sample) — unless values were NaN.
    const gap = j - i;
    if (current.length > 0 && j < slots && gap <= settings.maxGapSteps) {
      const fillValue = settings.fill === 'zero' ? 0 : (current[current.length - 1] as number);
      for (let k = 0; k < gap; k++) current.push(fillValue);
      filled += gap;
    } else {
      if (current.length > 0 && j < slots) splits++;
      close();
    }
    i = j;
  }
  close();
  return { segments, stepMs, splits, dropped };
}

function settingsFor(file: string, options: TraceOptions): { grid: GridSettings; notes: string[] } {
  const rule = TRACE_RULES.find((r) => r.pattern.test(baseName(file)));
  const notes: string[] = [];
  if (rule) notes.push(`${baseName(file)}: ${rule.why}`);
  return {
    grid: {
      fill: options.fill ?? rule?.fill ?? 'previous',
      maxGapSteps: options.maxGapSteps ?? rule?.maxGapSteps ?? DEFAULT_MAX_GAP_STEPS,
      stepMs: options.stepMs,
      minRows: options.minRows,
    },
    notes,
  };
}

/**
 * Regularises several named series of one source and checks the result is usable: a series
 * left with no segment of `minRows` steps is an error naming the source.
 */
export function seriesFromPoints(
  source: string,
  named: ReadonlyMap<string, RawPoints>,
  options: TraceOptions,
  extraNotes: readonly string[] = [],
): ParsedTrace {
  const { grid, notes } = settingsFor(source, options);
  notes.push(...extraNotes);
  const series: Series[] = [];
  for (const [name, points] of named) {
    const result = regularize(name, source, points, grid);
    const rows = points.timestamps.length;
    if (result.segments.length === 0) {
      throw dataError(
        `${source}: series ${name} has ${rows} rows${result.splits > 0 ? ` in pieces between gaps longer than ${grid.maxGapSteps} steps` : ''}; ` +
          `it needs at least ${grid.minRows} consecutive steps (window + horizon)`,
      );
    }
    if (result.splits > 0 || result.dropped > 0) {
      notes.push(
        `${name}: split at ${result.splits} gap(s) longer than ${grid.maxGapSteps} steps` +
          (result.dropped > 0
            ? `; ${result.dropped} piece(s) shorter than ${grid.minRows} steps dropped`
            : ''),
      );
    }
    series.push(...result.segments);
  }
  return { source, series, notes };
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Splits one CSV line into fields (double quotes with `""` escapes; no newlines in fields). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * Parses a CSV trace. With a time column (see {@link TIME_COLUMNS}) its values give the
 * timestamps; without one, rows are consecutive steps of `options.stepMs` or of the step in
 * the file name (`_300s`), starting at `options.startMs` (default 0 — the day and week phase
 * of such a file is unknown). Every other column whose first value is a number is a series
 * named `<file>:<column>`; an empty cell is a missing value.
 */
export function parseCsvTrace(text: string, file: string, options: TraceOptions): ParsedTrace {
  const lines = text.split(/\r?\n/);
  let headerLine = 0;
  while (headerLine < lines.length && (lines[headerLine] as string).trim() === '') headerLine++;
  if (headerLine >= lines.length) throw dataError(`${file}: the file is empty`);
  const header = splitCsvLine((lines[headerLine] as string).replace(/^\uFEFF/, '')).map((h) =>
    h.trim(),
  );
  const lower = header.map((h) => h.toLowerCase());
  let timeIndex = -1;
  for (const name of TIME_COLUMNS) {
    timeIndex = lower.indexOf(name);
    if (timeIndex >= 0) break;
  }
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    rows.push({ line: i + 1, fields: splitCsvLine(line) });
  }
  if (rows.length === 0) throw dataError(`${file}: no data rows after the header`);

  // A column is numeric when its first non-empty cell is a number.
  const numeric: number[] = [];
  for (let c = 0; c < header.length; c++) {
    if (c === timeIndex) continue;
    const name = header[c] as string;
    if (options.columns && !options.columns.includes(name)) continue;
    const first = rows.find((r) => (r.fields[c] ?? '').trim() !== '');
    if (first && Number.isFinite(Number((first.fields[c] as string).trim()))) numeric.push(c);
  }
  if (numeric.length === 0) {
    const wanted = options.columns ? ` among ${options.columns.join(', ')}` : '';
    throw dataError(
      `${file}: no numeric column${wanted} (columns: ${header.join(', ') || 'none'})`,
    );
  }

  const stepMs = options.stepMs ?? stepFromFileName(file);
  const notes: string[] = [];
  if (timeIndex < 0) {
    if (stepMs === undefined) {
      throw dataError(
        `${file}: no time column (${TIME_COLUMNS.join('/')}) and no step: pass --step or put it in the file name (e.g. *_300s.csv)`,
      );
    }
    notes.push(
      `${baseName(file)}: no time column; one row per ${stepMs / 1000} s from ${options.startMs ?? 0} ms`,
    );
  }
  const timestamps = new Float64Array(rows.length);
  const columns = numeric.map(() => new Float64Array(rows.length));
  const start = options.startMs ?? 0;
  for (let r = 0; r < rows.length; r++) {
    const { line, fields } = rows[r] as { line: number; fields: string[] };
    if (timeIndex >= 0) {
      const raw = fields[timeIndex] ?? '';
      const ts = parseTimestamp(raw);
      if (ts === undefined) {
        throw dataError(`${file}:${line}: unparseable timestamp ${JSON.stringify(raw)}`);
      }
      timestamps[r] = ts;
    } else {
      timestamps[r] = start + r * (stepMs as number);
    }
    for (let k = 0; k < numeric.length; k++) {
      const c = numeric[k] as number;
      const cell = (fields[c] ?? '').trim();
      if (cell === '') {
        (columns[k] as Float64Array)[r] = Number.NaN;
        continue;
      }
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        throw dataError(
          `${file}:${line}: column ${header[c]} holds ${JSON.stringify(cell)}, not a number`,
        );
      }
      (columns[k] as Float64Array)[r] = v;
    }
  }
  const stem = traceStem(file);
  const named = new Map<string, RawPoints>();
  numeric.forEach((c, k) => {
    named.set(`${stem}:${header[c]}`, { timestamps, values: columns[k] as Float64Array });
  });
  return seriesFromPoints(file, named, timeIndex < 0 ? { ...options, stepMs: stepMs as number } : options, notes);
}

// ---------------------------------------------------------------------------------------------
// NDJSON

const NdjsonLineSchema = z.object({
  name: z.string().min(1),
  labels: z.record(z.string(), z.string()).optional(),
  timestamp: z.union([z.number(), z.string()]),
  value: z.union([z.number(), z.string()]),
});

/** Series key of a sample: `name{a="1",b="2"}` with labels sorted, or just `name`. */
export function seriesKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/**
 * Parses an NDJSON trace: one `{name, labels?, timestamp, value}` object per line (timestamp
 * ISO or epoch s/ms; value a number or numeric string), grouped into series by name and labels.
 */
export function parseNdjsonTrace(text: string, file: string, options: TraceOptions): ParsedTrace {
  const groups = new Map<string, { ts: number[]; vs: number[] }>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw dataError(`${file}:${i + 1}: not JSON (${(error as Error).message})`);
    }
    const parsed = NdjsonLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw dataError(
        `${file}:${i + 1}: ${issue ? `${issue.path.join('.') || 'line'}: ${issue.message}` : 'invalid sample'} (expected {name, labels?, timestamp, value})`,
      );
    }
    const { name, labels, timestamp, value } = parsed.data;
    const ts = typeof timestamp === 'number' ? parseTimestamp(String(timestamp)) : parseTimestamp(timestamp);
    if (ts === undefined) {
      throw dataError(`${file}:${i + 1}: unparseable timestamp ${JSON.stringify(timestamp)}`);
    }
    const v = typeof value === 'number' ? value : Number(value);
    if (typeof value === 'string' && (value.trim() === '' || Number.isNaN(v))) {
      throw dataError(`${file}:${i + 1}: value ${JSON.stringify(value)} is not a number`);
    }
    const key = seriesKey(name, labels);
    if (options.columns && !options.columns.includes(key) && !options.columns.includes(name)) {
      continue;
    }
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ts: [], vs: [] }));
    group.ts.push(ts);
    group.vs.push(v);
  }
  if (groups.size === 0) throw dataError(`${file}: no samples`);
  const named = new Map<string, RawPoints>();
  for (const [key, g] of groups) named.set(key, { timestamps: g.ts, values: g.vs });
  return seriesFromPoints(file, named, options);
}

/** Parses a trace by its extension: `.csv`, or `.ndjson`/`.jsonl`/`.json` (one object a line). */
export function parseTrace(text: string, file: string, options: TraceOptions): ParsedTrace {
  if (/\.csv$/i.test(file)) return parseCsvTrace(text, file, options);
  if (/\.(ndjson|jsonl|json)$/i.test(file)) return parseNdjsonTrace(text, file, options);
  throw dataError(`${file}: unknown trace format (expected .csv, .ndjson or .jsonl)`);
}

/** Whether a file name looks like a trace {@link parseTrace} reads. */
export function isTraceFile(file: string): boolean {
  return /\.(csv|ndjson|jsonl)$/i.test(file);
}

/**
 * sha256 over the data as used (series names, segment timestamps and values, in order): two
 * models with the same fingerprint saw the same numbers.
 */
export function dataFingerprint(series: readonly Series[]): string {
  const hash = createHash('sha256');
  for (const s of series) {
    hash.update(`${s.name}\u0000${s.segment}\u0000${s.startMs}\u0000${s.stepMs}\u0000`);
    hash.update(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength));
  }
  return `sha256:${hash.digest('hex')}`;
}
