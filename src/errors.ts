/**
 * The error catalog. Exceptions are for broken configuration and I/O; expected bad data is a
 * value (see `DecodeResult`). Retry logic reads only `retriable`.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'configuration is invalid (file, environment or CLI argument)',
  POLICY_INVALID: 'a healing-policy file is invalid',
  FILE_UNREADABLE: 'a file could not be read',
  DATA_INVALID: 'training or evaluation data is unusable (format, timestamps, too few rows)',
  SINK_UNAVAILABLE: 'the action sink (Redis) could not be reached',
  SOURCE_UNAVAILABLE: 'the metric source (Kafka) could not be reached',
  DEAD_LETTER_FAILED: 'a message could not be written to the dead-letter topic',
  TARGET_FAILED:
    'a remediation target (PM2, Kubernetes, webhook, command) refused or failed an action',
  EXECUTOR_UNAVAILABLE: "the executor's Redis streams could not be reached",
} as const;

/** Stable machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base error of healcast: a stable `code`, a `retriable` flag and an optional `cause`. */
export class HealcastError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HealcastError';
    this.code = code;
    this.retriable = options.retriable;
  }
}

/** True when `error` is a healcast error that says a retry may succeed. */
export function isRetriable(error: unknown): boolean {
  return error instanceof HealcastError && error.retriable;
}

/**
 * A remediation target failed. `retriable: true` for what may pass on a later attempt
 * (timeouts, 5xx, connection refused, a PM2 daemon restarting); false for what never will
 * (no such app or deployment, 4xx, a command that is not allowed).
 */
export class TargetError extends HealcastError {
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super('TARGET_FAILED', message, options);
    this.name = 'TargetError';
  }
}
