import { z } from 'zod';
import { parseTimestampString } from './decodeJson.js';
import { show, timestampProblem, type DecodeContext } from './limits.js';
import type { DecodeProblem, DecodeReason } from './sample.js';

/** Longest service, version or environment name accepted (Kubernetes names stop at 253). */
export const MAX_DEPLOYMENT_NAME_LENGTH = 256;

/**
 * A name as the producer meant it: not empty and not padded. `" checkout"` would silently
 * never match the `checkout` a policy renders from a series' labels, so it is refused.
 */
const NameSchema = z
  .string({ error: 'expected a string' })
  .min(1, 'must not be empty')
  .max(MAX_DEPLOYMENT_NAME_LENGTH, `longer than ${MAX_DEPLOYMENT_NAME_LENGTH} characters`)
  .refine((text) => text.trim() === text, 'must not start or end with whitespace');

/**
 * One message of the deployments topic as written: which `service` now runs which `version`
 * since `time` (epoch milliseconds, as a number or digit string, or an ISO-8601 date-time
 * with a zone, `2024-05-01T12:00:00Z`), optionally what it replaced and where. Unknown fields
 * are refused, so that a typo such as `serivce` cannot turn into a deployment of nothing.
 */
export const DeploymentEventWireSchema = z.strictObject(
  {
    /** The deployed service, as a policy's `deployment.service` template renders it. */
    service: NameSchema,
    /** The version now running (image tag, git SHA, release name). */
    version: NameSchema,
    time: z.union([z.number(), z.string()], {
      error: 'expected epoch milliseconds or an ISO-8601 date-time with a zone',
    }),
    /** The version it replaced (what a rollback goes back to). */
    previousVersion: NameSchema.optional(),
    /** Where it was deployed (informational: windows are kept per service). */
    environment: NameSchema.optional(),
  },
  { error: 'expected one deployment object' },
);

/**
 * A decoded deployment: the wire form with `time` resolved to `deployedAtMs` (Unix epoch ms,
 * fractions floored). A time that names no instant is an issue on `time` whose
 * `params.reason` is `invalid_timestamp`.
 */
export const DeploymentEventSchema = DeploymentEventWireSchema.transform((wire, ctx) => {
  const deployedAtMs = timeMs(wire.time);
  if (deployedAtMs === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['time'],
      message: `expected epoch milliseconds or an ISO-8601 date-time with a zone (Z or ±hh:mm; a local time names no instant), got ${show(wire.time)}`,
      params: { reason: 'invalid_timestamp' },
    });
    return z.NEVER;
  }
  return {
    service: wire.service,
    version: wire.version,
    deployedAtMs,
    ...(wire.previousVersion === undefined ? {} : { previousVersion: wire.previousVersion }),
    ...(wire.environment === undefined ? {} : { environment: wire.environment }),
  };
});
export type DeploymentEvent = z.output<typeof DeploymentEventSchema>;

function timeMs(time: number | string): number | undefined {
  if (typeof time === 'number') return Number.isFinite(time) ? Math.floor(time) : undefined;
  return parseTimestampString(time);
}

/** The outcome of decoding one deployments-topic message. */
export type DeploymentDecodeResult =
  | { readonly ok: true; readonly event: DeploymentEvent }
  | { readonly ok: false; readonly problem: DecodeProblem };

// fatal: a replacement character could turn a bad service name into a valid-looking one.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one message of the deployments topic. Never throws: a message that is not exactly
 * one valid deployment comes back as one problem, with the same reasons the metric decoders
 * use (`empty_message`, `invalid_json`, `invalid_schema`, `invalid_timestamp`,
 * `timestamp_in_future`) and a detail that names every bad field. The time bounds are the
 * metric samples' (`limits.minTimestampMs`, `limits.maxFutureSkewMs` past `nowMs`): a
 * deployment stamped in seconds or far in the future would open a window at the wrong time.
 */
export function decodeDeploymentEvent(
  bytes: Uint8Array | null,
  context: DecodeContext,
): DeploymentDecodeResult {
  if (bytes === null || bytes.length === 0) {
    return failure('empty_message', 'the message has no bytes');
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failure('invalid_json', 'not valid UTF-8');
  }
  if (text.trim() === '') return failure('empty_message', 'the message holds only whitespace');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return failure('invalid_json', message.slice(0, 200));
  }
  const result = DeploymentEventSchema.safeParse(parsed, { reportInput: true });
  if (!result.success) {
    // An unknown field first: a misspelt field is also reported missing, and the typo is the cause.
    const issues = [...result.error.issues].sort(
      (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
    );
    const first = issues[0];
    const reason =
      first?.code === 'custom'
        ? (first.params as { reason?: DecodeReason } | undefined)?.reason
        : undefined;
    return failure(reason ?? 'invalid_schema', issues.map(describeIssue).join('; '));
  }
  const event = result.data;
  const { limits, nowMs } = context;
  const problem = timestampProblem(
    'time',
    event.deployedAtMs,
    limits,
    nowMs + limits.maxFutureSkewMs,
  );
  return problem === undefined ? { ok: true, event } : failure(...problem);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const prefix = path === '' ? '' : `${path}: `;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map(
        (key) =>
          `${prefix}unknown field ${show(key)} (allowed: ${Object.keys(DeploymentEventWireSchema.shape).join(', ')})`,
      )
      .join('; ');
  }
  // The time issue shows the value in its message already.
  if (issue.code === 'custom' && issue.path[0] === 'time') return `${prefix}${issue.message}`;
  const input: unknown = issue.input;
  if (input === undefined && path !== '') return `${prefix}missing; ${issue.message}`;
  return `${prefix}${issue.message}, got ${show(input)}`;
}

function failure(reason: DecodeReason, detail: string): DeploymentDecodeResult {
  return { ok: false, problem: { reason, detail } };
}
