/**
 * Runs the probes of the probe policies: one loop per probe, each a `LivenessProbe` driven by
 * an injected clock, checking through a `Prober` and publishing its samples through a
 * `MetricPublisher`. The samples travel the same way as any metric, so the policy's ordinary
 * trigger (`healcast_probe_consecutive_failures >= failureThreshold`) fires the restart and
 * its cooldown holds further ones back.
 *
 * What happens is reported as typed events (`ProbeEvent`); the composition root turns them
 * into metrics and logs (see `observability/probeInstrumentation.ts`).
 */
import type { MetricSample } from '../ingest/sample.js';
import type { Clock } from '../pipeline/clock.js';
import type { Policy, ProbeSpec } from '../policy/schema.js';
import { LivenessProbe } from './livenessProbe.js';
import type { MetricPublisher } from './metricPublisher.js';
import type { ProbeFailureReason, Prober, ProbeResult } from './prober.js';

/** One probe to run: the policy's name (the `probe` label), its target and its settings. */
export interface ProbeDefinition {
  readonly name: string;
  /** The target's name (the `target` label of the published series). */
  readonly target: string;
  readonly spec: ProbeSpec;
}

/** The probes of the enabled probe policies among `policies`. */
export function probesOf(policies: readonly Policy[]): ProbeDefinition[] {
  return policies.flatMap((policy) =>
    policy.enabled && policy.probe !== undefined
      ? [{ name: policy.name, target: policy.target.name, spec: policy.probe }]
      : [],
  );
}

/** What a probe loop did, for metrics and logs. */
export type ProbeEvent =
  | {
      readonly event: 'probe_completed';
      readonly probe: string;
      readonly ok: boolean;
      /** Set when the check failed. */
      readonly reason?: ProbeFailureReason;
      readonly detail?: string;
      readonly status?: number;
      readonly durationMs: number;
      readonly consecutiveFailures: number;
      /** This failure completed `failureThreshold` in a row: the policy fires on it. */
      readonly thresholdReached: boolean;
    }
  | {
      readonly event: 'probe_publish_failed';
      readonly probe: string;
      readonly samples: number;
      readonly error: unknown;
    };

export interface ProbeRunnerDeps {
  readonly probes: readonly ProbeDefinition[];
  readonly prober: Prober;
  readonly publisher: MetricPublisher;
  readonly clock: Clock;
  readonly onEvent: (event: ProbeEvent) => void;
}

export class ProbeRunner {
  private abort: AbortController | undefined;
  private loops: Promise<void>[] = [];

  constructor(private readonly deps: ProbeRunnerDeps) {}

  /** Starts one loop per probe; probing begins `initialDelay` from now. Idempotent. */
  start(): void {
    if (this.abort !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loops = this.deps.probes.map((probe) => this.loop(probe, abort.signal));
  }

  /** Stops every loop, cutting a check in flight short, and waits for them to end. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await Promise.all(this.loops);
    this.loops = [];
    this.abort = undefined;
  }

  private async loop(definition: ProbeDefinition, signal: AbortSignal): Promise<void> {
    const { clock, prober, onEvent } = this.deps;
    const machine = new LivenessProbe(
      definition.spec,
      { probe: definition.name, target: definition.target },
      clock.nowMs(),
    );
    while (!signal.aborted) {
      const waitMs = machine.nextProbeAtMs - clock.nowMs();
      if (waitMs > 0) await clock.sleep(waitMs, signal);
      if (signal.aborted) return;
      const startedAtMs = clock.nowMs();
      const startedMonotonicMs = clock.monotonicMs();
      const result = await checkSafely(prober, definition.spec, signal);
      // A check cut short by shutdown says nothing about the endpoint: record nothing.
      if (signal.aborted) return;
      const step = machine.record(result.ok, startedAtMs);
      onEvent({
        event: 'probe_completed',
        probe: definition.name,
        ok: result.ok,
        ...(result.ok
          ? {}
          : {
              reason: result.reason,
              detail: result.detail,
              ...(result.status === undefined ? {} : { status: result.status }),
            }),
        durationMs: clock.monotonicMs() - startedMonotonicMs,
        consecutiveFailures: step.consecutiveFailures,
        thresholdReached: step.thresholdReached,
      });
      await this.publish(definition.name, step.samples);
    }
  }

  /**
   * Publishes one probe's samples. A failed publish is reported and dropped, not retried
   * later: the publisher already retried, and a restart fired late from an old sample could
   * hit a target that has recovered meanwhile; the next threshold crossing is published anew.
   */
  private async publish(probe: string, samples: readonly MetricSample[]): Promise<void> {
    try {
      await this.deps.publisher.publish(samples);
    } catch (error) {
      this.deps.onEvent({ event: 'probe_publish_failed', probe, samples: samples.length, error });
    }
  }
}

/** The prober promises not to reject; should one still do so, the check counts as failed. */
async function checkSafely(
  prober: Prober,
  spec: ProbeSpec,
  signal: AbortSignal,
): Promise<ProbeResult> {
  try {
    return await prober.probe(spec.httpGet, spec.timeoutMs, signal);
  } catch (error) {
    return { ok: false, reason: 'error', detail: String(error) };
  }
}
