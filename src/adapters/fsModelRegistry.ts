import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HealcastError } from '../errors.js';
import { ModelManifestSchema, type ModelManifest } from '../forecast/manifest.js';

/**
 * The model registry on the file system. Layout under a root (`models/` by default):
 *
 * ```
 * models/
 *   2026-11-27T03-50-00Z/   one directory per version: model.json, weights.bin, manifest.json
 *   current.json            { "version": "2026-11-27T03-50-00Z" }: the model the worker serves
 * ```
 *
 * A version directory is written once and never changed; promoting a model rewrites only
 * `current.json`, atomically (temporary file + rename), so a worker watching it sees either
 * the old version or the new one, never a torn file. `current.json` is a plain file rather
 * than a symlink so that git, archives and every OS treat it alike.
 */

/** The model's topology and weight manifest (tfjs-node's name). */
export const MODEL_JSON = 'model.json';
/** The weights file named by model.json's `weightsManifest` (tfjs-node's name). */
export const WEIGHTS_BIN = 'weights.bin';
/** The healcast manifest of a model (see ModelManifestSchema). */
export const MANIFEST_JSON = 'manifest.json';
/** The pointer to the current version. */
export const CURRENT_JSON = 'current.json';

const CurrentSchema = z.strictObject({ version: z.string().min(1) });

/** One version directory found under the root. */
export interface ModelEntry {
  /** Directory name, which is the version. */
  readonly version: string;
  /** Absolute path of the directory. */
  readonly dir: string;
  /** Whether model.json, weights.bin and manifest.json are all present. */
  readonly complete: boolean;
}

/** The version `current.json` names, and its directory. */
export interface CurrentModel {
  readonly version: string;
  readonly dir: string;
}

/**
 * Every version directory under `root`, oldest first (version names sort by time). An absent
 * root is an empty registry.
 */
export async function listModels(root: string): Promise<ModelEntry[]> {
  let names: string[];
  try {
    const entries = await readdir(root, { withFileTypes: true });
    names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw unreadable(`cannot list the models in ${root}`, error);
  }
  names.sort();
  return Promise.all(
    names.map(async (version) => {
      const dir = path.resolve(root, version);
      const present = await Promise.all(
        [MODEL_JSON, WEIGHTS_BIN, MANIFEST_JSON].map((file) => isFile(path.join(dir, file))),
      );
      return { version, dir, complete: present.every(Boolean) };
    }),
  );
}

/**
 * The version `current.json` names, or undefined when there is none (no model trained yet:
 * the worker scores on baselines only). A malformed file is an error, not "no model", so a
 * broken deployment is noticed.
 */
export async function currentModel(root: string): Promise<CurrentModel | undefined> {
  const file = path.join(root, CURRENT_JSON);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw unreadable(`cannot read ${file}`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw unreadable(`${file} is not JSON`, error);
  }
  const result = CurrentSchema.safeParse(parsed);
  if (!result.success || !isVersionName(result.data.version)) {
    throw unreadable(`${file} must be {"version": "<directory name under ${root}>"}`, undefined);
  }
  return { version: result.data.version, dir: path.resolve(root, result.data.version) };
}

/**
 * Makes `version` the current model: checks that its directory holds a complete model with a
 * valid manifest (a half-written model must never be served), then replaces `current.json`
 * atomically.
 */
export async function promote(root: string, version: string): Promise<void> {
  if (!isVersionName(version)) {
    throw new HealcastError('CONFIG_INVALID', `not a model version name: ${version}`, {
      retriable: false,
    });
  }
  const dir = path.resolve(root, version);
  for (const file of [MODEL_JSON, WEIGHTS_BIN]) {
    if (!(await isFile(path.join(dir, file)))) {
      throw unreadable(`cannot promote ${version}: ${path.join(dir, file)} is missing`, undefined);
    }
  }
  await readModelManifest(dir);
  await writeFileAtomic(path.join(root, CURRENT_JSON), `${JSON.stringify({ version }, null, 2)}\n`);
}

/**
 * A version name for a model trained at `date`: its UTC time to the second with `-` for `:`
 * (valid on every file system), e.g. `2026-11-27T03-50-00Z`. Names sort in time order.
 */
export function newVersionName(date: Date): string {
  return `${date.toISOString().slice(0, 19).replaceAll(':', '-')}Z`;
}

/**
 * Reads and validates `manifest.json` in a version directory. Every failure (missing file,
 * not JSON, schema mismatch with the offending paths) is a non-retriable HealcastError.
 */
export async function readModelManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_JSON);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw unreadable(`cannot read the model manifest ${file}`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw unreadable(`the model manifest ${file} is not JSON`, error);
  }
  const result = ModelManifestSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw unreadable(`the model manifest ${file} is invalid: ${problems}`, result.error);
  }
  return result.data;
}

/** Options of {@link watchCurrent}. */
export interface WatchCurrentOptions {
  /** Poll period (ms); fs.watch events trigger an earlier check. Default 3000. */
  readonly intervalMs?: number;
  /**
   * Called when `current.json` cannot be read or is malformed; the last good version stays
   * in force. Default: a process warning (never silent).
   */
  readonly onError?: (error: unknown) => void;
  /**
   * The version the caller serves already (from {@link currentModel}; null for none): the
   * first read is compared with it, so a promotion between that read and this call is not
   * missed. Omitted, the first read only sets the starting point.
   */
  readonly current?: string | null;
}

/**
 * Watches `current.json` for hot reload: calls `onChange` whenever the version it names
 * differs from the one seen before (see `options.current` for the starting point; undefined
 * means the file was removed). fs.watch gives prompt notice where it
 * works; polling every `intervalMs` is the backstop, since fs.watch misses events on some
 * file systems (network mounts, some container volumes). Returns a function that stops
 * watching. Neither the watcher nor the timer keeps the process alive.
 */
export function watchCurrent(
  root: string,
  onChange: (current: CurrentModel | undefined) => void,
  options: WatchCurrentOptions = {},
): () => void {
  const intervalMs = options.intervalMs ?? 3000;
  const onError =
    options.onError ??
    ((error: unknown) => process.emitWarning(`model registry: ${String(error)}`));
  let stopped = false;
  let known: string | undefined = options.current ?? undefined;
  let started = options.current !== undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const check = async (): Promise<void> => {
    try {
      const current = await currentModel(root);
      if (stopped) return;
      if (!started) {
        started = true;
        known = current?.version;
        return;
      }
      if (current?.version !== known) {
        known = current?.version;
        onChange(current);
      }
    } catch (error) {
      if (stopped) return;
      // A file broken from the start counts as "no model": its repair is then reported.
      started = true;
      onError(error);
    }
  };
  // One check at a time; an event during a check schedules exactly one more.
  const trigger = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = check().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        trigger();
      }
    });
  };

  trigger();
  const timer = setInterval(trigger, intervalMs);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(root, { persistent: false }, (_event, file) => {
      if (file === null || file === CURRENT_JSON) trigger();
    });
    watcher.on('error', () => {
      // The directory went away or the platform gave up watching: polling carries on.
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    // No root yet, or fs.watch unsupported here: polling alone notices the change.
    watcher = undefined;
  }
  return () => {
    stopped = true;
    clearInterval(timer);
    watcher?.close();
  };
}

/**
 * Writes `data` to `file` so that readers see the old content or the new, never a part:
 * a temporary file in the same directory, flushed to disk, then renamed over the target.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(data);
      // Without the flush a crash right after the rename can leave an empty file behind it.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    // The catalog has no code for a failed write yet: the Node error (code, path) is the
    // clearest report, so it propagates as it is once the temporary file is gone.
    await rm(temporary, { force: true });
    throw error;
  }
}

/** A version is one plain directory name: nothing that could climb out of the root. */
function isVersionName(version: string): boolean {
  return (
    version.length > 0 &&
    version !== '.' &&
    version !== '..' &&
    !version.includes('/') &&
    !version.includes('\\') &&
    !version.includes('\0')
  );
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

function unreadable(message: string, cause: unknown): HealcastError {
  const detail =
    cause instanceof Error && !(cause instanceof z.ZodError) ? `: ${cause.message}` : '';
  return new HealcastError('FILE_UNREADABLE', `${message}${detail}`, {
    retriable: false,
    cause,
  });
}
