import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import {
  BREAKER_STATES,
  BreakerOpenError,
  type BreakerState,
  type CircuitBreakers,
} from '../../execute/circuitBreakers.js';
import type { Logger } from '../../observability/logger.js';
import type { ExecutorMetrics } from '../../observability/executorMetrics.js';

export interface BreakerSettings {
  /** Consecutive failed calls that open a target's breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before a half-open probe is let through. */
  readonly halfOpenAfterMs: number;
}

/**
 * CircuitBreakers on cockatiel's ConsecutiveBreaker (it opens after exactly N consecutive
 * failures, which is the rule operators reason about; opossum only offers a failure
 * percentage over a rolling window). The state is per executor process: several executors
 * each keep their own breakers, so a dead target costs each of them N failures, not one.
 *
 * Half-open probes are active: when a breaker has been open for `halfOpenAfterMs`, the
 * target's read-only `probe` (the driver's observe) is run through it. Success closes the
 * breaker; failure keeps it open for another period. Real actions are never spent as probes.
 */
export class CockatielBreakers implements CircuitBreakers {
  private readonly breakers = new Map<
    string,
    { policy: CircuitBreakerPolicy; openedAtMs?: number; timer?: NodeJS.Timeout }
  >();
  private closed = false;
  private readonly closedListeners: ((targetKey: string) => void)[] = [];

  constructor(
    private readonly settings: BreakerSettings,
    private readonly probe: (targetKey: string) => Promise<unknown>,
    private readonly metrics: ExecutorMetrics,
    private readonly log: Logger,
  ) {}

  isOpen(targetKey: string): boolean {
    const entry = this.breakers.get(targetKey);
    if (entry === undefined) return false;
    const state = entry.policy.state;
    return (
      state === CircuitState.Isolated || (state === CircuitState.Open && !this.probeDue(entry))
    );
  }

  async run<T>(targetKey: string, fn: () => Promise<T>): Promise<T> {
    const entry = this.entry(targetKey);
    try {
      return await entry.policy.execute(fn);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new BreakerOpenError(targetKey);
      throw error;
    }
  }

  onClosed(listener: (targetKey: string) => void): void {
    this.closedListeners.push(listener);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.breakers.values()) clearTimeout(entry.timer);
  }

  private probeDue(entry: { openedAtMs?: number }): boolean {
    return (
      entry.openedAtMs !== undefined &&
      Date.now() - entry.openedAtMs >= this.settings.halfOpenAfterMs
    );
  }

  private entry(targetKey: string) {
    let entry = this.breakers.get(targetKey);
    if (entry !== undefined) return entry;
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: this.settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.settings.failureThreshold),
    });
    const created: { policy: CircuitBreakerPolicy; openedAtMs?: number; timer?: NodeJS.Timeout } = {
      policy,
    };
    entry = created;
    this.breakers.set(targetKey, created);
    this.metrics.breakerState.set({ target: targetKey }, 0);
    policy.onStateChange((state) => {
      const name: BreakerState =
        state === CircuitState.Closed
          ? 'closed'
          : state === CircuitState.HalfOpen
            ? 'half_open'
            : 'open';
      this.metrics.breakerState.set({ target: targetKey }, BREAKER_STATES.indexOf(name));
      this.metrics.breakerTransitions.inc({ target: targetKey, state: name });
      const message =
        name === 'open'
          ? `circuit breaker of ${targetKey} opened after ${this.settings.failureThreshold} consecutive failures; its actions go to the escalation stream`
          : name === 'half_open'
            ? `circuit breaker of ${targetKey} half-open: probing`
            : `circuit breaker of ${targetKey} closed again`;
      this.log[name === 'open' ? 'error' : 'info'](
        { event: `breaker_${name}`, target: targetKey },
        message,
      );
      clearTimeout(created.timer);
      if (name === 'open') {
        created.openedAtMs = Date.now();
        this.scheduleProbe(targetKey, created);
      } else if (name === 'closed') {
        delete created.openedAtMs;
        for (const listener of this.closedListeners) listener(targetKey);
      }
    });
    return created;
  }

  private scheduleProbe(
    targetKey: string,
    entry: { policy: CircuitBreakerPolicy; timer?: NodeJS.Timeout },
  ): void {
    if (this.closed) return;
    entry.timer = setTimeout(() => {
      if (this.closed || entry.policy.state !== CircuitState.Open) return;
      // A failed probe re-opens the breaker, whose state change schedules the next probe.
      entry.policy.execute(() => this.probe(targetKey)).catch(() => undefined);
    }, this.settings.halfOpenAfterMs);
    entry.timer.unref();
  }
}
