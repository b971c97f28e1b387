import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HealcastError } from '../errors.js';
import { NabTimestampSchema } from '../evaluate/nab/windows.js';
import { writeTextFiles } from './fsTraining.js';

/** One data file of a NAB-layout folder: `DIR/<category>/<file>.csv`. */
export interface NabDataFile {
  /** `category/file.csv`: the file's key in `combined_windows.json`. */
  readonly name: string;
  readonly category: string;
  readonly file: string;
  readonly path: string;
}

/** One row of a NAB data file, with its timestamp text kept verbatim for the results file. */
export interface NabRow {
  readonly timestamp: string;
  readonly timestampMs: number;
  /** The value text as in the input (written back unchanged). */
  readonly valueText: string;
  readonly value: number;
}

/** A data row: a NAB timestamp (UTC-naive, parsed once to ms) and a finite number. */
const NabRowSchema = z.object({
  timestamp: NabTimestampSchema,
  value: z.string().refine((text) => text.trim() !== '' && Number.isFinite(Number(text)), {
    message: 'value is not a finite number',
  }),
});

function dataError(message: string, cause?: unknown): HealcastError {
  return new HealcastError('DATA_INVALID', message, { retriable: false, cause });
}

function unreadable(what: string, error: unknown): HealcastError {
  const detail = error instanceof Error ? error.message : String(error);
  return new HealcastError('FILE_UNREADABLE', `cannot read ${what}: ${detail}`, {
    retriable: false,
    cause: error,
  });
}

/**
 * The CSV files of a NAB-layout folder (one level of category folders), sorted by name so
 * runs are reproducible. Files directly in `dataDir` and deeper folders are not data files.
 */
export async function listNabDataFiles(dataDir: string): Promise<NabDataFile[]> {
  let categories;
  try {
    categories = await readdir(dataDir, { withFileTypes: true });
  } catch (error) {
    throw unreadable(`the NAB data folder ${dataDir}`, error);
  }
  const files: NabDataFile[] = [];
  for (const category of categories
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    const dir = path.join(dataDir, category);
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      // Symbolic links count: a subset of NAB is conveniently a folder of links.
      if (!(entry.isFile() || entry.isSymbolicLink()) || !entry.name.endsWith('.csv')) continue;
      files.push({
        name: `${category}/${entry.name}`,
        category,
        file: entry.name,
        path: path.join(dir, entry.name),
      });
    }
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (files.length === 0) {
    throw dataError(`no NAB data files (DIR/<category>/<file>.csv) in ${dataDir}`);
  }
  return files;
}

/**
 * Reads a NAB data file: header `timestamp,value`, then one row per sample in time order (equal timestamps allowed).
 * A bad row is an error naming the file and its line (1-based, header = line 1).
 */
export async function readNabDataFile(file: NabDataFile): Promise<NabRow[]> {
  let text;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (error) {
    throw unreadable(file.path, error);
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').trim().replace(/^\uFEFF/, '');
  if (header !== 'timestamp,value') {
    throw dataError(
      `${file.path}:1: header must be "timestamp,value", got ${JSON.stringify(header)}`,
    );
  }
  const rows: NabRow[] = [];
  let previousMs = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const cells = line.split(',');
    const where = `${file.path}:${i + 1}`;
    if (cells.length !== 2) {
      throw dataError(`${where}: expected 2 columns (timestamp,value), got ${cells.length}`);
    }
    const parsed = NabRowSchema.safeParse({ timestamp: cells[0], value: cells[1] });
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => issue.message).join('; ');
      throw dataError(`${where}: ${detail} (${JSON.stringify(line)})`);
    }
    const timestamp = cells[0] as string;
    const timestampMs = parsed.data.timestamp;
    // Equal timestamps do occur in NAB's own files (a DST change collapsed an hour of rows).
    if (timestampMs < previousMs) {
      throw dataError(`${where}: timestamp ${timestamp} is before the previous row`);
    }
    previousMs = timestampMs;
    rows.push({
      timestamp,
      timestampMs,
      valueText: parsed.data.value,
      value: Number(parsed.data.value),
    });
  }
  if (rows.length === 0) throw dataError(`${file.path}: no data rows`);
  return rows;
}

/**
 * Where the labels are when `--labels` is not given: `DIR/combined_windows.json` (the layout of
 * ../shared/data/nab), else `DIR/../labels/combined_windows.json` (a checkout of the NAB
 * repository, whose data folder is `NAB/data` and labels `NAB/labels`).
 */
export async function defaultNabLabelsFile(dataDir: string): Promise<string> {
  const beside = path.join(dataDir, 'combined_windows.json');
  const nabRepo = path.join(dataDir, '..', 'labels', 'combined_windows.json');
  for (const candidate of [beside, nabRepo]) {
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return beside; // reading it fails with an error that names it
}

/** Reads and JSON-decodes a labels file (`combined_windows.json`); the shape is checked by the caller. */
export async function readNabLabels(file: string): Promise<unknown> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw unreadable(`the NAB labels ${file}`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw dataError(`${file}: not JSON (${String(error)})`, error);
  }
}

/** Where NAB expects a detector's results for a data file. */
export function nabResultsPath(outDir: string, detector: string, file: NabDataFile): string {
  return path.join(outDir, detector, file.category, `${detector}_${file.file}`);
}

/**
 * Writes a NAB results file `timestamp,value,anomaly_score`: the input's rows, in order, with
 * their timestamp and value text unchanged.
 */
export async function writeNabResults(
  target: string,
  rows: readonly NabRow[],
  scores: ArrayLike<number>,
): Promise<void> {
  const lines = ['timestamp,value,anomaly_score'];
  rows.forEach((row, i) => lines.push(`${row.timestamp},${row.valueText},${scores[i] ?? 0}`));
  await writeTextFiles({ [target]: lines.join('\n') + '\n' });
}

/** Writes a JSON document (pretty, newline-terminated), creating its folder. */
export async function writeJsonFile(target: string, value: unknown): Promise<void> {
  await writeTextFiles({ [target]: JSON.stringify(value, null, 2) + '\n' });
}
