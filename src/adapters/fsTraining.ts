import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HealcastError } from '../errors.js';
import {
  isTraceFile,
  parseTrace,
  type ParsedTrace,
  type TraceOptions,
} from '../training/traces.js';

/**
 * File I/O of `healcast train` and `healcast forecast`: finding and reading trace files, and
 * writing reports. The parsing itself is pure (src/training/traces.ts).
 */

/**
 * The trace files under `paths`: files are taken as they are (whatever their extension, so a
 * typo surfaces as a format error), folders are searched recursively for `.csv`, `.ndjson`
 * and `.jsonl`, in name order so a run is reproducible.
 */
export async function findTraceFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch (error) {
      throw new HealcastError('FILE_UNREADABLE', `cannot read ${p}: ${String(error)}`, {
        retriable: false,
        cause: error,
      });
    }
    if (info.isDirectory()) {
      const found = await walk(p);
      if (found.length === 0) {
        throw new HealcastError(
          'DATA_INVALID',
          `${p}: no trace files (.csv, .ndjson, .jsonl) in this folder or below`,
          { retriable: false },
        );
      }
      files.push(...found);
    } else {
      files.push(p);
    }
  }
  return files;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile() && isTraceFile(entry.name)) out.push(full);
  }
  return out;
}

/** Reads and parses every trace file under `paths` (see {@link findTraceFiles}). */
export async function loadTraceFiles(
  paths: readonly string[],
  options: TraceOptions,
): Promise<ParsedTrace[]> {
  const files = await findTraceFiles(paths);
  const traces: ParsedTrace[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new HealcastError('FILE_UNREADABLE', `cannot read ${file}: ${String(error)}`, {
        retriable: false,
        cause: error,
      });
    }
    traces.push(parseTrace(text, file, options));
  }
  return traces;
}

/** Writes text files (creating folders), e.g. a report and its `latest` copy. */
export async function writeTextFiles(files: Readonly<Record<string, string>>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** Total size in bytes of the files directly in `dir`. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(path.join(dir, entry.name))).size;
  }
  return total;
}
