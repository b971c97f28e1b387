/**
 * Prober — the port through which a probe checks its endpoint (an HTTP GET in production,
 * `src/adapters/http/httpProber.ts`).
 *
 * Contract: `probe` never rejects. A failed check is a value with a reason, because a failing
 * endpoint is exactly what a probe expects to find; the result is a success only for a
 * response status 200–399 within `timeoutMs` (the kubelet's rule). Aborting `signal` ends the
 * check early with reason `aborted`, which says nothing about the endpoint.
 */
import type { HttpGetSpec } from '../policy/schema.js';

/** Why a check failed; a bounded set (it is a metric label). */
export type ProbeFailureReason =
  'timeout' | 'connection_refused' | 'http_status' | 'error' | 'aborted';

/** The result of one check. */
export type ProbeResult =
  | { readonly ok: true; readonly status: number }
  | {
      readonly ok: false;
      readonly reason: ProbeFailureReason;
      /** Human-readable, for logs: the status line or the error. */
      readonly detail: string;
      /** The response status, when there was a response. */
      readonly status?: number;
    };

export interface Prober {
  /** Checks `request` once, giving up after `timeoutMs`. */
  probe(request: HttpGetSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult>;
}
