/**
 * Policy files: text in, `Policy[]` out, or every problem with its path, position and value.
 * Pure (no file system); `src/adapters/fsPolicyLoader.ts` reads the file and calls this.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { HealcastError } from '../errors.js';
import {
  DeploymentGateSchema,
  HealingPolicySchema,
  PolicyDocumentSchema,
  PolicyFileSchema,
  PredictSchema,
  ProbeSchema,
  HttpGetSchema,
  TargetSchema,
  TriggerSchema,
  type Policy,
} from './schema.js';

/** One problem in a policy file. */
export interface PolicyIssue {
  /** Field path as printed, e.g. `policies[0].trigger.threshold`; `(root)` for the file. */
  readonly path: string;
  /** The same path as keys and indexes. */
  readonly segments: readonly (string | number)[];
  /** What is wrong, including the offending value when there is one (no path or position). */
  readonly message: string;
  /** The offending value as found in the file; absent when the field is missing. */
  readonly value?: unknown;
  /** 1-based line of the offending node, when the position is known. */
  readonly line?: number;
  /** 1-based column of the offending node, when the position is known. */
  readonly column?: number;
  /** The full report line: `<source>[:<line>:<column>]: <path>: <message>`. */
  readonly text: string;
}

/** Result of parsing a policy file without throwing. */
export type PolicyParseResult =
  | { readonly ok: true; readonly format: 'json' | 'yaml'; readonly policies: Policy[] }
  | { readonly ok: false; readonly issues: PolicyIssue[] };

/**
 * A policy file is invalid. `message` has one line per issue, each prefixed by the source
 * name; `issues` carries the same for programs. Not retriable: the file must be fixed.
 */
export class PolicyInvalidError extends HealcastError {
  readonly sourceName: string;
  readonly issues: readonly PolicyIssue[];

  constructor(sourceName: string, issues: readonly PolicyIssue[]) {
    super('POLICY_INVALID', issues.map((issue) => issue.text).join('\n'), { retriable: false });
    this.name = 'PolicyInvalidError';
    this.sourceName = sourceName;
    this.issues = issues;
  }
}

/**
 * Parses a policy file (JSON or YAML) into normalised policies, or throws
 * `PolicyInvalidError` naming every problem. See `tryParsePolicies` for the rules.
 */
export function parsePolicies(text: string, sourceName: string): Policy[] {
  const result = tryParsePolicies(text, sourceName);
  if (!result.ok) throw new PolicyInvalidError(sourceName, result.issues);
  return result.policies;
}

/**
 * Parses a policy file without throwing.
 *
 * Format: a `.json` name means JSON and `.yaml`/`.yml` YAML; otherwise text that starts with
 * `{` or `[` and parses as JSON is JSON, and anything else is YAML (1.2, which also reads
 * JSON). Duplicate keys are errors in both.
 *
 * Relative replicas in YAML: YAML reads `replicas: +2` as the number 2, which would mean
 * "set 2 replicas". Since nobody writes a plus sign in front of an absolute count, a plain
 * (unquoted) number with a leading `+` or `-` under an action's `parameters.replicas` keeps
 * its source text, so it means "+2 replicas" exactly like the quoted `"+2"`. JSON has no
 * such syntax: write `"+2"` there.
 */
export function tryParsePolicies(text: string, sourceName: string): PolicyParseResult {
  // A byte-order mark is invisible in editors but breaks both parsers.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const loaded = readDocument(source, sourceName);
  if (!loaded.ok) return loaded;
  const result = PolicyFileSchema.safeParse(loaded.data);
  if (result.success) return { ok: true, format: loaded.format, policies: result.data };
  const issues = result.error.issues.flatMap((issue) =>
    toPolicyIssues(issue, loaded.data, loaded.locate, sourceName),
  );
  return { ok: false, issues: sortByPosition(issues) };
}

type Locate = (segments: readonly (string | number)[], key: boolean) => Position | undefined;
type Position = { line: number; column: number };

type Loaded =
  | { ok: true; format: 'json' | 'yaml'; data: unknown; locate: Locate }
  | { ok: false; issues: PolicyIssue[] };

function readDocument(text: string, sourceName: string): Loaded {
  const lower = sourceName.toLowerCase();
  const first = text.trimStart()[0];
  const looksJson =
    lower.endsWith('.json') || (!/\.ya?ml$/.test(lower) && (first === '{' || first === '['));
  if (looksJson) {
    try {
      const data: unknown = JSON.parse(text);
      // JSON is YAML 1.2, so the YAML parser gives positions for schema issues.
      return { ok: true, format: 'json', data, locate: yamlLocator(text).locate };
    } catch (error) {
      if (lower.endsWith('.json'))
        return { ok: false, issues: [jsonSyntaxIssue(error, text, sourceName)] };
      // Not JSON after all (YAML flow style also starts with `{`): let the YAML parser judge.
    }
  }
  const { doc, locate, lineCounter } = yamlLocator(text);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        let message = error.message.split('\n')[0] ?? error.message;
        if (error.code === 'DUPLICATE_KEY') {
          // The error spans only the key's first character; read the key up to its colon.
          const key = /^("[^"]*"|'[^']*'|[^:\n]*)/.exec(text.slice(error.pos[0]))?.[1] ?? '';
          message = `duplicate key ${JSON.stringify(key.replace(/^["']|["']$/g, '').trim())}`;
        } else if (error.code === 'MULTIPLE_DOCS') {
          message =
            'several YAML documents ("---") in one file; list the policies under one document';
        }
        return issue(sourceName, [], `YAML syntax error: ${message}`, { line, column: col });
      }),
    };
  }
  keepSignedReplicasRelative(doc);
  try {
    return { ok: true, format: 'yaml', data: doc.toJS({ maxAliasCount: 100 }), locate };
  } catch (error) {
    // Unresolved or excessive aliases surface only when the document is materialised.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [issue(sourceName, [], `YAML error: ${message}`)] };
  }
}

function jsonSyntaxIssue(error: unknown, text: string, sourceName: string): PolicyIssue {
  const raw = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(raw);
  const offset = position?.[1] === undefined ? text.length : Number(position[1]);
  const before = text.slice(0, offset).split('\n');
  const message = raw.replace(/\s*(in JSON )?at position \d+.*$/, '').replace(/ in JSON$/, '');
  return issue(sourceName, [], `JSON syntax error: ${message}`, {
    line: before.length,
    column: (before.at(-1)?.length ?? 0) + 1,
  });
}

function yamlLocator(text: string): { doc: Document; locate: Locate; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (node: unknown): Position | undefined => {
    const range = (node as { range?: readonly number[] } | null)?.range;
    if (range?.[0] === undefined) return undefined;
    const { line, col } = lineCounter.linePos(range[0]);
    return { line, column: col };
  };
  // Walks as far down the path as the document goes: a missing key points at its parent.
  const locate: Locate = (segments, key) => {
    let node: unknown = doc.contents;
    let best = at(node);
    for (const [index, segment] of segments.entries()) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (pair === undefined) break;
        if (key && index === segments.length - 1) return at(pair.key) ?? best;
        next = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (next === undefined) break;
      node = next;
      best = at(node) ?? best;
    }
    return best;
  };
  return { doc, locate, lineCounter };
}

function keepSignedReplicasRelative(doc: Document): void {
  visit(doc, {
    Pair(_key, pair, path) {
      if (!isScalar(pair.key) || pair.key.value !== 'replicas') return;
      const value = pair.value;
      if (!isScalar(value) || typeof value.value !== 'number' || value.type !== 'PLAIN') return;
      const sourceText = value.source;
      if (typeof sourceText !== 'string' || !/^[+-]/.test(sourceText.trim())) return;
      const parent = [...path].reverse().find((node) => isPair(node));
      if (isPair(parent) && isScalar(parent.key) && parent.key.value === 'parameters') {
        value.value = sourceText.trim();
      }
    },
  });
}

function sortByPosition(issues: PolicyIssue[]): PolicyIssue[] {
  // Stable: issues without a position keep their (document) order at the front.
  return issues
    .map((item, order) => ({ item, order }))
    .sort(
      (a, b) =>
        (a.item.line ?? 0) - (b.item.line ?? 0) ||
        (a.item.column ?? 0) - (b.item.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ item }) => item);
}

/** Formats a path like `policies[0].trigger.threshold`; `(root)` when empty. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

function issue(
  sourceName: string,
  segments: readonly (string | number)[],
  message: string,
  position?: Position,
  value?: { value: unknown },
): PolicyIssue {
  const path = formatPath(segments);
  const where = position === undefined ? '' : `:${position.line}:${position.column}`;
  return {
    path,
    segments,
    message,
    ...(value === undefined ? {} : { value: value.value }),
    ...(position === undefined ? {} : { line: position.line, column: position.column }),
    text: `${sourceName}${where}: ${path}: ${message}`,
  };
}

function valueAt(data: unknown, segments: readonly (string | number)[]): unknown {
  let node = data;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment))
      return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** Short, single-line rendering of a value from the file. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

const KNOWN_KEYS = {
  policy: Object.keys(HealingPolicySchema.in.shape),
  trigger: Object.keys(TriggerSchema.in.shape),
  target: Object.keys(TargetSchema.shape),
  predict: Object.keys(PredictSchema.in.shape),
  probe: Object.keys(ProbeSchema.in.shape),
  httpGet: Object.keys(HttpGetSchema.in.shape),
  deployment: Object.keys(DeploymentGateSchema.in.shape),
  action: ['type', 'parameters'],
  document: Object.keys(PolicyDocumentSchema.shape),
};

function knownKeysAt(segments: readonly PropertyKey[], data: unknown): readonly string[] {
  const last = segments.at(-1);
  if (last === 'trigger') return KNOWN_KEYS.trigger;
  if (last === 'target') return KNOWN_KEYS.target;
  if (last === 'predict' && segments.at(-2) === 'trigger') return KNOWN_KEYS.predict;
  if (last === 'probe') return KNOWN_KEYS.probe;
  if (last === 'deployment') return KNOWN_KEYS.deployment;
  if (last === 'httpGet' && segments.at(-2) === 'probe') return KNOWN_KEYS.httpGet;
  if (typeof last === 'number' && segments.at(-2) === 'actions') return KNOWN_KEYS.action;
  if (segments.length === 0 && !Array.isArray(data)) {
    return [...KNOWN_KEYS.policy, ...KNOWN_KEYS.document];
  }
  return KNOWN_KEYS.policy;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(key: string, known: readonly string[]): string {
  // Kubernetes probes spell durations `periodSeconds: 10`; ours take units (`period: 10s`).
  const unitless = key.replace(/Seconds$/, '');
  if (unitless !== key && known.includes(unitless)) {
    return ` (did you mean ${JSON.stringify(unitless)}? it takes a duration such as "10s")`;
  }
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined
    ? ` (allowed: ${known.join(', ')})`
    : ` (did you mean ${JSON.stringify(best)}?)`;
}

function toSegments(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

function toPolicyIssues(
  zodIssue: z.core.$ZodIssue,
  data: unknown,
  locate: Locate,
  sourceName: string,
): PolicyIssue[] {
  const segments = toSegments(zodIssue.path);
  if (zodIssue.code === 'unrecognized_keys') {
    const known = knownKeysAt(zodIssue.path, data);
    return zodIssue.keys.map((key) => {
      const at = [...segments, key];
      return issue(sourceName, at, `unknown key${suggestion(key, known)}`, locate(at, true), {
        value: valueAt(data, at),
      });
    });
  }
  const value = valueAt(data, segments);
  const missing = value === undefined;
  let message: string;
  let appendValue = !missing;
  switch (zodIssue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[zodIssue.expected] ?? zodIssue.expected;
      message = missing ? `missing (expected ${expected})` : `expected ${expected}`;
      break;
    }
    case 'invalid_value':
      message = `expected ${zodIssue.values.length === 1 ? '' : 'one of '}${zodIssue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      if (missing) message = `missing (${message})`;
      break;
    case 'invalid_union': {
      const options = (zodIssue as { options?: unknown[] }).options;
      const list = options?.map((option) => JSON.stringify(option)).join(', ');
      message = list === undefined ? 'does not match any allowed form' : `expected one of ${list}`;
      if (missing) message = `missing (${message})`;
      break;
    }
    case 'too_small':
      message =
        zodIssue.origin === 'string' && Number(zodIssue.minimum) === 1
          ? 'must not be empty'
          : zodIssue.origin === 'array'
            ? `must have at least ${Number(zodIssue.minimum)} item(s)`
            : `must be ${zodIssue.inclusive === false ? '>' : '>='} ${Number(zodIssue.minimum)}`;
      break;
    case 'too_big':
      message =
        zodIssue.origin === 'string'
          ? `must be at most ${Number(zodIssue.maximum)} characters`
          : zodIssue.origin === 'array'
            ? `must have at most ${Number(zodIssue.maximum)} item(s)`
            : `must be ${zodIssue.inclusive === false ? '<' : '<='} ${Number(zodIssue.maximum)}`;
      break;
    case 'custom':
      message = zodIssue.message;
      // Messages from shared schemas (e.g. DurationMs) may quote the value already.
      if (
        (zodIssue.params as { valueShown?: boolean } | undefined)?.valueShown === true ||
        message.includes(showValue(value))
      ) {
        appendValue = false;
      }
      break;
    default:
      message = zodIssue.message;
  }
  if (appendValue) message += `, got ${showValue(value)}`;
  return [
    issue(sourceName, segments, message, locate(segments, false), missing ? undefined : { value }),
  ];
}
