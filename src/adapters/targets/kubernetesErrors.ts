import { TargetError } from '../../errors.js';

/**
 * Turns what the Kubernetes client throws into a `TargetError` whose `retriable` flag says
 * whether the same call may succeed later, and whose message names the target and the HTTP
 * status (`deployment shop/checkout: scale failed: HTTP 404 NotFound: deployments.apps
 * "checkout" not found`).
 *
 * Retriable: 408, 409 (a concurrent writer; the next attempt reads afresh), 429, every 5xx,
 * network failures (refused, reset, DNS, TLS handshake cut) and timeouts. Not retriable: every
 * other 4xx — 400/422 (the request is wrong), 401/403 (credentials or RBAC), 404 (no such
 * workload), 405/415 — and errors that are not I/O (a kubeconfig that cannot work).
 */

/** Why a call ended before the server answered, when it was one of our own signals. */
export type AbortCause = 'action-timeout' | 'request-timeout';

const RETRIABLE_STATUSES = new Set([408, 409, 429]);

/** Error codes of failed connections (Node's net/dns/tls), as undici and node-fetch report them. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * @param what the target and the step, e.g. `deployment shop/checkout: scale`
 * @param aborted set when one of our signals ended the call (checked by the caller, because
 *   the client reports an abort differently per fetch implementation)
 */
export function kubernetesTargetError(
  what: string,
  error: unknown,
  aborted: { cause: AbortCause; timeoutMs: number } | undefined,
): TargetError {
  if (aborted !== undefined) {
    const why =
      aborted.cause === 'action-timeout'
        ? "aborted: the executor's action timeout ran out"
        : `no answer within ${aborted.timeoutMs} ms`;
    return new TargetError(`${what} failed: ${why}`, { retriable: true, cause: error });
  }
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const retriable = status >= 500 || RETRIABLE_STATUSES.has(status);
    return new TargetError(`${what} failed: HTTP ${status}${describeStatus(error)}`, {
      retriable,
      cause: error,
    });
  }
  const code = networkCodeOf(error);
  if (code !== undefined) {
    return new TargetError(`${what} failed: cannot reach the API server (${code})`, {
      retriable: true,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TargetError(`${what} failed: ${message}`, { retriable: false, cause: error });
}

/** The HTTP status of an `ApiException` (it carries `code`; a Node system error has a string). */
function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

/** ` NotFound: deployments.apps "checkout" not found` from the `Status` body, when there is one. */
function describeStatus(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body.trim() === '' ? '' : `: ${body.trim().slice(0, 200)}`;
    }
  }
  if (typeof status !== 'object' || status === null) return '';
  const { reason, message } = status as { reason?: unknown; message?: unknown };
  const reasonText = typeof reason === 'string' && reason !== '' ? ` ${reason}` : '';
  const messageText = typeof message === 'string' && message !== '' ? `: ${message}` : '';
  return `${reasonText}${messageText}`;
}

/** The failed connection's code, looked for on the error and its causes (undici nests it). */
function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
