import { readFile } from 'node:fs/promises';
import { HealcastError } from '../errors.js';
import { parsePolicies } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';

/**
 * Reads and parses a policy file (JSON or YAML, see `tryParsePolicies`).
 *
 * Throws `HealcastError` `FILE_UNREADABLE` when the file cannot be read and
 * `PolicyInvalidError` (code `POLICY_INVALID`, with `issues`) when it is invalid. Neither is
 * retriable: a missing or broken policy file needs a human, not a retry loop.
 */
export async function loadPolicyFile(path: string): Promise<Policy[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    // Node's message already names the cause and the path, e.g. "ENOENT: no such file…".
    const reason = error instanceof Error ? error.message : String(error);
    throw new HealcastError('FILE_UNREADABLE', `${path}: cannot read policy file (${reason})`, {
      retriable: false,
      cause: error,
    });
  }
  return parsePolicies(text, path);
}
