/**
 * The edge of the probe runner: its events as metrics on an injected registry and as
 * structured logs. Probe names are policy names from the policy file, a bounded, configured
 * set, so they may be labels.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { ProbeEvent } from '../probe/probeRunner.js';

/** The probers' own metrics (the probe results themselves travel as samples, not here). */
export class ProbeMetrics {
  readonly probes: Counter<'probe' | 'result'>;
  readonly failures: Counter<'probe' | 'reason'>;
  readonly durationSeconds: Histogram<'probe'>;
  readonly publishFailures: Counter<'probe'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.probes = new Counter({
      name: 'healcast_probes_total',
      help: 'Liveness probes run, by probe (policy) and result: success or failure.',
      labelNames: ['probe', 'result'],
      registers,
    });
    this.failures = new Counter({
      name: 'healcast_probe_failures_total',
      help: 'Failed liveness probes by probe and reason: timeout, connection_refused, http_status (outside 200-399), error.',
      labelNames: ['probe', 'reason'],
      registers,
    });
    this.durationSeconds = new Histogram({
      name: 'healcast_probe_duration_seconds',
      help: 'Time one liveness probe took, from request to result (bounded by its timeout).',
      labelNames: ['probe'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.publishFailures = new Counter({
      name: 'healcast_probe_publish_failures_total',
      help: 'Probe results that could not be written to the metrics topic (dropped; see logs).',
      labelNames: ['probe'],
      registers,
    });
  }
}

/** Turns probe events into metrics and logs: failures at info, a reached threshold at warn. */
export function probeEventHandler(metrics: ProbeMetrics, log: Logger): (event: ProbeEvent) => void {
  return (event) => {
    if (event.event === 'probe_publish_failed') {
      metrics.publishFailures.inc({ probe: event.probe });
      log.error(
        {
          event: event.event,
          probe: event.probe,
          samples: event.samples,
          error: String(event.error),
        },
        `probe ${event.probe}: could not publish its result: ${String(event.error)}`,
      );
      return;
    }
    metrics.probes.inc({ probe: event.probe, result: event.ok ? 'success' : 'failure' });
    metrics.durationSeconds.observe({ probe: event.probe }, event.durationMs / 1000);
    if (event.ok) {
      log.debug({ event: 'probe_succeeded', probe: event.probe, durationMs: event.durationMs });
      return;
    }
    metrics.failures.inc({ probe: event.probe, reason: event.reason ?? 'error' });
    const fields = {
      event: event.thresholdReached ? 'probe_threshold_reached' : 'probe_failed',
      probe: event.probe,
      reason: event.reason,
      detail: event.detail,
      status: event.status,
      consecutiveFailures: event.consecutiveFailures,
      durationMs: event.durationMs,
    };
    if (event.thresholdReached) {
      log.warn(
        fields,
        `probe ${event.probe}: failed ${event.consecutiveFailures} times in a row (${event.detail ?? event.reason}); its policy fires unless it is cooling down`,
      );
    } else {
      log.info(fields, `probe ${event.probe}: failed (${event.detail ?? event.reason})`);
    }
  };
}
