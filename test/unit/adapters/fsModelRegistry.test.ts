import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  currentModel,
  listModels,
  newVersionName,
  promote,
  readModelManifest,
  watchCurrent,
  writeFileAtomic,
  type CurrentModel,
} from '../../../src/adapters/fsModelRegistry.js';
import { HealcastError } from '../../../src/errors.js';
import { manifestFor, temporaryDirectory, TINY_SPEC, writeManifest } from './tfjs/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function registry(): Promise<string> {
  const { dir, remove } = await temporaryDirectory();
  cleanups.push(remove);
  return dir;
}

/** A version directory with the three files (fake model bytes: the registry never parses them). */
async function addModel(root: string, version: string, complete = true): Promise<string> {
  const dir = path.join(root, version);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.json'), '{}');
  if (complete) await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(8));
  await writeManifest(dir, manifestFor(TINY_SPEC, version, [4]));
  return dir;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('newVersionName', () => {
  it('is the UTC second with dashes, and sorts in time order', () => {
    expect(newVersionName(new Date('2026-11-27T03:50:00.123Z'))).toBe('2026-11-27T03-50-00Z');
    const names = [
      new Date('2026-11-27T10:00:00Z'),
      new Date('2026-11-27T09:59:59Z'),
      new Date('2025-12-31T23:00:00Z'),
    ].map(newVersionName);
    expect([...names].sort()).toEqual([names[2], names[1], names[0]]);
    expect(names.every((name) => /^[0-9TZ-]+$/.test(name))).toBe(true);
  });
});

describe('listModels', () => {
  it('lists version directories oldest first, marking incomplete ones', async () => {
    const root = await registry();
    await addModel(root, '2026-11-27T10-00-00Z');
    await addModel(root, '2026-11-26T10-00-00Z');
    await addModel(root, '2026-11-28T10-00-00Z', false);
    await writeFile(path.join(root, 'README.md'), 'not a model');
    const models = await listModels(root);
    expect(models.map((m) => [m.version, m.complete])).toEqual([
      ['2026-11-26T10-00-00Z', true],
      ['2026-11-27T10-00-00Z', true],
      ['2026-11-28T10-00-00Z', false],
    ]);
    expect(models[0]!.dir).toBe(path.resolve(root, '2026-11-26T10-00-00Z'));
  });

  it('treats a missing root as an empty registry', async () => {
    const root = await registry();
    expect(await listModels(path.join(root, 'nope'))).toEqual([]);
  });
});

describe('promote and currentModel', () => {
  it('has no current model until one is promoted, then names it', async () => {
    const root = await registry();
    expect(await currentModel(root)).toBeUndefined();
    await addModel(root, 'a');
    await addModel(root, 'b');
    await promote(root, 'a');
    expect(await currentModel(root)).toEqual({ version: 'a', dir: path.resolve(root, 'a') });
    await promote(root, 'b');
    expect(await currentModel(root)).toEqual({ version: 'b', dir: path.resolve(root, 'b') });
    expect(JSON.parse(await readFile(path.join(root, 'current.json'), 'utf8'))).toEqual({
      version: 'b',
    });
    // Atomic replacement leaves no temporary file behind.
    expect((await readdir(root)).sort()).toEqual(['a', 'b', 'current.json']);
  });

  it('refuses to promote an incomplete, invalid or escaping version, keeping the current one', async () => {
    const root = await registry();
    await addModel(root, 'good');
    await promote(root, 'good');
    await addModel(root, 'half', false);
    await expect(promote(root, 'half')).rejects.toThrow(/weights\.bin is missing/);
    const invalid = await addModel(root, 'invalid');
    await writeManifest(invalid, { schema: 'something else' });
    await expect(promote(root, 'invalid')).rejects.toThrow(/manifest.*invalid/);
    await expect(promote(root, 'missing')).rejects.toThrow(HealcastError);
    await expect(promote(root, '../good')).rejects.toThrow(/not a model version name/);
    expect((await currentModel(root))?.version).toBe('good');
  });

  it('reports a malformed current.json as an error, not as "no model"', async () => {
    const root = await registry();
    await writeFile(path.join(root, 'current.json'), '{"version": 3}');
    await expect(currentModel(root)).rejects.toThrow(/current\.json must be/);
    await writeFile(path.join(root, 'current.json'), '{"version": "../../etc"}');
    await expect(currentModel(root)).rejects.toThrow(/current\.json must be/);
    await writeFile(path.join(root, 'current.json'), 'garbage');
    await expect(currentModel(root)).rejects.toThrow(/not JSON/);
  });
});

describe('readModelManifest', () => {
  it('returns the validated manifest', async () => {
    const root = await registry();
    const dir = await addModel(root, 'v');
    const manifest = await readModelManifest(dir);
    expect(manifest.version).toBe('v');
    expect(manifest.spec).toEqual(TINY_SPEC);
  });
});

describe('watchCurrent', () => {
  it('reports each promotion and a removal, not the starting state', async () => {
    const root = await registry();
    await addModel(root, 'a');
    await addModel(root, 'b');
    await promote(root, 'a');
    const seen: (CurrentModel | undefined)[] = [];
    const errors: unknown[] = [];
    const stop = watchCurrent(root, (current) => seen.push(current), {
      intervalMs: 50,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => Promise.resolve(stop()));
    // Let the first read set the starting point.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen).toEqual([]);

    await promote(root, 'b');
    await until(() => seen.length === 1);
    expect(seen[0]?.version).toBe('b');

    await promote(root, 'b'); // same version: nothing to report
    await writeFile(path.join(root, 'current.json'), 'half a wri');
    await until(() => errors.length > 0);
    expect(seen).toHaveLength(1);

    await rm(path.join(root, 'current.json'));
    await until(() => seen.length === 2);
    expect(seen[1]).toBeUndefined();

    await promote(root, 'a');
    await until(() => seen.length === 3);
    expect(seen[2]?.version).toBe('a');
  });

  it('compares the first read with the version the caller serves, and reports a repair', async () => {
    const root = await registry();
    await addModel(root, 'a');
    await addModel(root, 'b');
    await promote(root, 'b');
    // The caller loaded 'a', then 'b' was promoted before it started watching.
    const seen: (string | undefined)[] = [];
    const stop = watchCurrent(root, (current) => seen.push(current?.version), {
      intervalMs: 30,
      current: 'a',
    });
    cleanups.push(() => Promise.resolve(stop()));
    await until(() => seen.length === 1);
    expect(seen).toEqual(['b']);

    // Broken from the start: nothing is served, so the repaired file is news.
    const other = await registry();
    await addModel(other, 'c');
    await writeFile(path.join(other, 'current.json'), 'broken');
    const errors: unknown[] = [];
    const repaired: (string | undefined)[] = [];
    const stopOther = watchCurrent(other, (current) => repaired.push(current?.version), {
      intervalMs: 30,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => Promise.resolve(stopOther()));
    await until(() => errors.length > 0);
    await promote(other, 'c');
    await until(() => repaired.length === 1);
    expect(repaired).toEqual(['c']);
  });

  it('stops reporting once stopped, and watches a root that does not exist yet', async () => {
    const parent = await registry();
    const root = path.join(parent, 'models');
    const seen: (CurrentModel | undefined)[] = [];
    const stop = watchCurrent(root, (current) => seen.push(current), { intervalMs: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await addModel(root, 'a');
    await promote(root, 'a');
    await until(() => seen.length === 1);
    stop();
    await addModel(root, 'b');
    await promote(root, 'b');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen.map((current) => current?.version)).toEqual(['a']);
  });
});

describe('writeFileAtomic', () => {
  it('creates missing directories and replaces the whole content', async () => {
    const root = await registry();
    const file = path.join(root, 'deep', 'x.json');
    await writeFileAtomic(file, 'first version, long');
    await writeFileAtomic(file, 'second');
    expect(await readFile(file, 'utf8')).toBe('second');
    expect(await readdir(path.dirname(file))).toEqual(['x.json']);
  });
});
