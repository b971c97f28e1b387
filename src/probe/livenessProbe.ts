/**
 * The liveness state machine of one probe, as the kubelet runs a container's liveness probe:
 * pure, with results and times passed in.
 *
 * - The first probe is due `initialDelayMs` after the start; then one every `periodMs`, on a
 *   fixed grid (a probe that overran its period is followed by the next grid point, like the
 *   kubelet's ticker, rather than by a burst of catch-up probes).
 * - A failure adds one to the consecutive-failure count; a success resets it (the liveness
 *   success threshold is always 1).
 * - When the count reaches `failureThreshold` the probe publishes that count (which fires the
 *   policy) and starts over: count 0, and the initial delay applies again before the next
 *   probe, because the restart it asked for takes time, as the kubelet waits out the initial
 *   delay of the container it restarted.
 */
import type { MetricSample } from '../ingest/sample.js';
import { PROBE_FAILURES_METRIC, PROBE_SUCCESS_METRIC, type ProbeSpec } from '../policy/schema.js';

/** Labels of a probe's published series: the probe (its policy's name) and its target. */
export interface ProbeLabels {
  readonly probe: string;
  readonly target: string;
}

/** What one probe result produces. */
export interface ProbeStep {
  /**
   * To publish: `healcast_probe_consecutive_failures` (the count after this result, before
   * any start-over) and `healcast_probe_success` (1 or 0), both at the probe's time.
   */
  readonly samples: readonly MetricSample[];
  /** The count after this result; equals `failureThreshold` when the threshold was reached. */
  readonly consecutiveFailures: number;
  /** True when this result completed `failureThreshold` consecutive failures. */
  readonly thresholdReached: boolean;
  /** When the next probe is due (epoch ms). */
  readonly nextProbeAtMs: number;
}

/** Timing and threshold of a probe (a `ProbeSpec` without its request). */
export type ProbeTiming = Pick<ProbeSpec, 'initialDelayMs' | 'periodMs' | 'failureThreshold'>;

export class LivenessProbe {
  private failures = 0;
  /** A probe time of the grid; every probe is due at `gridOriginMs + k * periodMs`. */
  private readonly gridOriginMs: number;
  private dueAtMs: number;

  /** `startMs`: when probing starts (epoch ms); the first probe is due `initialDelayMs` later. */
  constructor(
    private readonly timing: ProbeTiming,
    private readonly labels: ProbeLabels,
    startMs: number,
  ) {
    if (!(timing.periodMs > 0) || !(timing.failureThreshold >= 1) || timing.initialDelayMs < 0) {
      throw new RangeError(
        `probe timing must have periodMs > 0, failureThreshold >= 1 and initialDelayMs >= 0, got ${JSON.stringify(timing)}`,
      );
    }
    this.gridOriginMs = startMs + timing.initialDelayMs;
    this.dueAtMs = this.gridOriginMs;
  }

  /** When the next probe is due (epoch ms). */
  get nextProbeAtMs(): number {
    return this.dueAtMs;
  }

  /** Consecutive failures so far (0 after a success or a start-over). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Records the result of the probe started at `atMs` (epoch ms) and says what follows. */
  record(success: boolean, atMs: number): ProbeStep {
    this.failures = success ? 0 : this.failures + 1;
    const consecutiveFailures = this.failures;
    const thresholdReached = consecutiveFailures >= this.timing.failureThreshold;
    let nextMs = this.gridPointAfter(atMs);
    if (thresholdReached) {
      this.failures = 0;
      nextMs = Math.max(nextMs, this.gridPointAtOrAfter(atMs + this.timing.initialDelayMs));
    }
    this.dueAtMs = nextMs;
    const labels = { probe: this.labels.probe, target: this.labels.target };
    return {
      samples: [
        { name: PROBE_FAILURES_METRIC, labels, timestampMs: atMs, value: consecutiveFailures },
        { name: PROBE_SUCCESS_METRIC, labels, timestampMs: atMs, value: success ? 1 : 0 },
      ],
      consecutiveFailures,
      thresholdReached,
      nextProbeAtMs: nextMs,
    };
  }

  /** The first grid point strictly after `ms`. */
  private gridPointAfter(ms: number): number {
    if (ms < this.gridOriginMs) return this.gridOriginMs;
    const { periodMs } = this.timing;
    return this.gridOriginMs + (Math.floor((ms - this.gridOriginMs) / periodMs) + 1) * periodMs;
  }

  /** The first grid point at or after `ms`. */
  private gridPointAtOrAfter(ms: number): number {
    if (ms <= this.gridOriginMs) return this.gridOriginMs;
    const { periodMs } = this.timing;
    return this.gridOriginMs + Math.ceil((ms - this.gridOriginMs) / periodMs) * periodMs;
  }
}
