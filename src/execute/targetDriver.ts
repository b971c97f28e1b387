import type { ActionEnvelope } from '../dispatch/envelope.js';

/**
 * TargetDriver — the port every remediation target sits behind (PM2, Kubernetes, an HTTP
 * webhook, an allow-listed command). The executor picks the driver from its own config entry
 * for the action's target, never from the action itself, so a metric or a message cannot
 * name an arbitrary target.
 *
 * Contract (what the executor's exactly-once-effect design relies on):
 * - `scale(replicas)` sets an ABSOLUTE count. The executor computes the count once, journals
 *   it, and re-applies the same count after a crash, so applying it twice has the effect of
 *   once.
 * - `restart` and `rollback` are not idempotent by nature. Before calling them the executor
 *   journals `observe()`; after a crash it observes again and skips the call when
 *   `restartMarker` / `revision` changed since (the effect already happened). Drivers whose
 *   target cannot be observed (webhook, command) return `{}` and receive `ctx.actionId` as an
 *   idempotency key to pass on: for them the effect is exactly once only if the receiver
 *   dedupes on it (README says so).
 * - Failures throw `TargetError`; `retriable` says whether the same call may succeed later
 *   (timeouts, 5xx, connection refused) or never will (404, 403, bad configuration).
 * - `ctx.signal` aborts a call that overran the executor's action timeout.
 */
export interface TargetDriver<Settings = unknown> {
  /** The driver's name in the executor config (`driver: pm2`). */
  readonly type: DriverType;
  /** Which action types this driver can carry out for a target with these settings. */
  supports(settings: Settings, action: ActionEnvelope['type']): boolean;
  /** Reads the target's current state (cheap, read-only; also the breaker's half-open probe). */
  observe(settings: Settings, ctx: ObserveContext): Promise<TargetObservation>;
  /** Sets the target's replica count to `replicas` (absolute). */
  scale(settings: Settings, replicas: number, ctx: DriverContext): Promise<EffectReport>;
  /** Restarts the target (rolling where the target supports it). */
  restart(settings: Settings, ctx: DriverContext): Promise<EffectReport>;
  /** Rolls the target back to its previous revision (or `parameters.toRevision`). */
  rollback(settings: Settings, ctx: DriverContext): Promise<EffectReport>;
  /** Releases connections (PM2 bus, HTTP agents). */
  close(): Promise<void>;
}

/** The drivers an allow-list entry can name; `simulated`: in memory (embedded demo, trying an allow-list). */
export const DRIVER_TYPES = ['pm2', 'kubernetes', 'webhook', 'command', 'simulated'] as const;
export type DriverType = (typeof DRIVER_TYPES)[number];

/** What a read-only call gets: only a way to give up. */
export interface ObserveContext {
  readonly signal: AbortSignal;
}

/** What a driver is told about the action it carries out. */
export interface DriverContext extends ObserveContext {
  /** The action's id: the idempotency key drivers pass on to receivers. */
  readonly actionId: string;
  readonly envelope: ActionEnvelope;
  /** When the executor journaled its intent (ms since epoch); stable across re-deliveries. */
  readonly intentAtMs: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** A target's state as a driver sees it; fields it cannot know stay undefined. */
export interface TargetObservation {
  /** Desired replica count (PM2: instances of the app; Kubernetes: spec.replicas). */
  readonly replicas?: number;
  /** Changes whenever the target restarts (PM2: restart counters; Kubernetes: restartedAt). */
  readonly restartMarker?: string;
  /** The running revision (Kubernetes: deployment.kubernetes.io/revision). */
  readonly revision?: string;
  /** Instances that are up, when known. */
  readonly readyReplicas?: number;
}

/** What a driver did, for the outcome record. */
export interface EffectReport {
  /** One line for humans: "scaled pm2 app web from 1 to 3 instances". */
  readonly summary: string;
  /** Structured details (HTTP status, revision rolled back to, exit code, …). */
  readonly details?: Record<string, unknown>;
}
