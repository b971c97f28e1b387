import type { z } from 'zod';
import { HealcastError } from '../errors.js';
import { ENVIRONMENT, WorkerConfigSchema, type WorkerConfig } from './workerConfig.js';

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge where later layers win; arrays are replaced, not concatenated. */
export function mergeLayers(...layers: Plain[]): Plain {
  const out: Plain = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const current = out[key];
      out[key] = isPlain(current) && isPlain(value) ? mergeLayers(current, value) : value;
    }
  }
  return out;
}

function setPath(target: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isPlain(next)) node[part] = {};
    node = node[part] as Plain;
  }
  node[parts[parts.length - 1] as string] = value;
}

/**
 * Turns environment variables into a config layer, by a table of variables (the worker's
 * ENVIRONMENT, the executor's EXECUTOR_ENVIRONMENT). Values are converted by kind; a value that
 * does not convert is kept as text so validation reports it with its variable's path.
 */
export function environmentLayer(
  env: Readonly<Record<string, string | undefined>>,
  table: readonly { name: string; path: string; kind: string }[],
): Plain {
  const layer: Plain = {};
  for (const { name, path, kind } of table) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    let value: unknown = raw.trim();
    if (kind === 'list')
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    else if (kind === 'int') value = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    else if (kind === 'bool') value = raw === 'true' || raw === '1';
    setPath(layer, path, value);
  }
  return layer;
}

/** The worker's environment as a config layer (see ENVIRONMENT). */
export function workerEnvironmentLayer(env: Readonly<Record<string, string | undefined>>): Plain {
  const layer = environmentLayer(env, ENVIRONMENT);
  // Brokers in the environment mean the worker runs on Kafka, not the embedded demo.
  if (env.KAFKA_BROKERS?.trim()) layer.mode = 'kafka';
  return layer;
}

/**
 * Formats zod issues as `path: message (got value)` lines; an unknown key is reported at its
 * own path (`startup: unknown key`), not as its parent object.
 */
export function formatIssues(error: z.ZodError, input: unknown): string[] {
  const line = (path: readonly PropertyKey[], message: string): string => {
    let got: unknown = input;
    for (const part of path)
      got = isPlain(got) || Array.isArray(got) ? (got as Plain)[part as string] : undefined;
    const shown = got === undefined ? '' : ` (got ${JSON.stringify(got)?.slice(0, 80)})`;
    return `${path.length === 0 ? '(root)' : path.map(String).join('.')}: ${message}${shown}`;
  };
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => line([...issue.path, key], 'unknown key'))
      : [line(issue.path, issue.message)],
  );
}

/**
 * Validates the merged layers (later ones win) against `schema`. Throws a non-retriable
 * CONFIG_INVALID error, "invalid <title>:", listing every problem with its path; returns a
 * frozen config.
 */
export function buildConfig<Schema extends z.ZodType>(
  schema: Schema,
  title: string,
  ...layers: Plain[]
): z.output<Schema> {
  const input = mergeLayers(...layers);
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error, input);
    throw new HealcastError('CONFIG_INVALID', `invalid ${title}:\n  ${lines.join('\n  ')}`, {
      retriable: false,
    });
  }
  return deepFreeze(parsed.data);
}

/** The worker's configuration from its layers (defaults < file < environment < flags). */
export function buildWorkerConfig(...layers: Plain[]): WorkerConfig {
  return buildConfig(WorkerConfigSchema, 'configuration', ...layers);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
