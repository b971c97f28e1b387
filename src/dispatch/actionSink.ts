import type { Fire } from './envelope.js';

/**
 * ActionSink — where decided actions go (a Redis stream in production, an in-process queue in
 * the embedded demo).
 *
 * Contract:
 * - `enqueue` resolves only once every fire it was given is durably accepted or durably
 *   refused; after it resolves the caller may commit the input that produced them.
 * - At most once per fire id: enqueueing a fire id again (a batch re-processed after a crash)
 *   is a no-op reported as `duplicate`.
 * - Cooldown is enforced durably too: a fire for a (policy, target) pair whose last accepted
 *   fire is within `cooldownMs` of it in event time is refused as `cooling_down`, even if the
 *   worker that accepted the first one has since restarted with empty memory.
 * - I/O failures reject with a `HealcastError` whose `retriable` says whether to retry;
 *   nothing is half-written (each fire is atomic).
 */
export interface ActionSink {
  enqueue(fires: readonly Fire[]): Promise<EnqueueResult[]>;
  /** True when the sink is reachable (readiness). */
  isReady(): boolean;
  close(): Promise<void>;
}

/** What happened to one fire, in the order given. */
export type EnqueueResult =
  | { readonly fireId: string; readonly status: 'enqueued'; readonly entryIds: readonly string[] }
  | { readonly fireId: string; readonly status: 'duplicate' }
  | { readonly fireId: string; readonly status: 'cooling_down'; readonly lastFiredAtMs: number };
