import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { HealcastError } from '../errors.js';

/**
 * Reads a YAML (or JSON) config file as a config layer; no path, no layer. Throws a
 * non-retriable `FILE_UNREADABLE` when the file cannot be read and `CONFIG_INVALID` when it is
 * not YAML or not a mapping at the top level (validation of the fields comes later, merged).
 */
export async function fileLayer(path: string | undefined): Promise<Record<string, unknown>> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new HealcastError(
      'FILE_UNREADABLE',
      `cannot read config file ${path}: ${String(error)}`,
      {
        retriable: false,
      },
    );
  }
  try {
    const value: unknown = parseYaml(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('expected a mapping at the top level');
    }
    return value as Record<string, unknown>;
  } catch (error) {
    throw new HealcastError('CONFIG_INVALID', `config file ${path}: ${String(error)}`, {
      retriable: false,
    });
  }
}
