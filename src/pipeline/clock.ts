/** Clock port: wall time for timestamps, a monotonic reading for durations. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Monotonic milliseconds (arbitrary origin), for measuring durations. */
  monotonicMs(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
