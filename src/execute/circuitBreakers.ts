/** Breaker states as exported in `healcast_executor_breaker_state` (0, 1, 2). */
export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/**
 * CircuitBreakers — one breaker per target. After `failureThreshold` consecutive failures a
 * target's breaker opens: its actions are deferred to a human instead of hammering a target
 * that is down. After `halfOpenAfter` a read-only probe (the driver's `observe`) is let
 * through; success closes the breaker, failure keeps it open for another period.
 */
export interface CircuitBreakers {
  /** Open and not yet due for a half-open probe. */
  isOpen(targetKey: string): boolean;
  /** Runs fn through the target's breaker; throws `BreakerOpenError` when it is open. */
  run<T>(targetKey: string, fn: () => Promise<T>): Promise<T>;
  /** Calls `listener` with the target key each time a target's breaker closes again. */
  onClosed(listener: (targetKey: string) => void): void;
  /** Stops probe timers. */
  close(): void;
}

export class BreakerOpenError extends Error {
  constructor(readonly targetKey: string) {
    super(`circuit breaker of ${targetKey} is open`);
    this.name = 'BreakerOpenError';
  }
}
