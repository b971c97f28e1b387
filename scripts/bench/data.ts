/**
 * The synthetic metrics every benchmark uses: realistic series (a few metric names, a host,
 * an environment and a region label), canonical JSON messages, and healing policies that
 * select some of the series — a few of which breach long enough to fire.
 */
import { seededRandom } from './common.js';

/** Metric names, one series of each per host. */
export const METRICS = [
  'cpu_utilization',
  'memory_utilization',
  'disk_io_utilization',
  'http_requests_per_second',
] as const;

const REGIONS = ['eu-1', 'us-1', 'ap-1'] as const;

/** Event-time step between two samples of one series (a 10 s scrape interval). */
export const STEP_MS = 10_000;

/**
 * The policies of every run. `cpu-high` selects the `cpu_utilization` of every `prod` host
 * (90% of them) and is predictive (`trigger.predict`): the worker keeps the last 64 steps of
 * each of its series, forecasts every one of them at every step once it has 64, and fires
 * ahead of a breach it finds likely and imminent, or when one has lasted 2 minutes (see
 * {@link valueOf} for the few hosts that breach). `memory-pressure` is reactive and is
 * evaluated for the EU series but never fires; the worker forecasts its series too (it
 * forecasts every series a policy selects).
 */
export const BENCH_POLICIES = `
policies:
  - name: cpu-high
    trigger:
      metric: cpu_utilization
      selector: { env: prod }
      threshold: 90
      duration: 2m
      predict: { horizon: 2m, probability: 0.3 }
    leadTime: 1m
    target: { kind: deployment, name: '{{host}}', namespace: '{{region}}' }
    actions:
      - type: scale
        parameters: { replicas: '+1', max: 10 }
    cooldown: 10m
  - name: memory-pressure
    trigger:
      metric: memory_utilization
      selector: { region: { regex: 'eu-.*' } }
      threshold: 95
      duration: 5m
    target: { kind: deployment, name: '{{host}}' }
    actions:
      - type: restart
        parameters: { strategy: rolling }
    cooldown: 30m
`;

/** Name and labels of series number `index` (4 series per host). */
export function seriesOf(index: number): { name: string; labels: Record<string, string> } {
  const host = Math.floor(index / METRICS.length);
  return {
    name: METRICS[index % METRICS.length] as string,
    labels: {
      host: `host-${String(host).padStart(6, '0')}`,
      env: host % 10 === 0 ? 'staging' : 'prod',
      region: REGIONS[host % REGIONS.length] as string,
    },
  };
}

/** True for the hosts whose CPU breaches (one in fifty, all `prod`). */
function breaches(host: number): boolean {
  return host % 50 === 1;
}

/**
 * Value of series `index` at step `step`, `noise` in [0, 1): smooth daily-ish shapes plus
 * noise; the breaching hosts' CPU climbs from ~50 to 90 over steps 80–99 (what a predictive
 * trigger is for: the worker forecasts a series once it has 64 steps), sits above 90 during
 * steps 100–139, and jumps above 90 again from step 170 on.
 */
export function valueOf(index: number, step: number, noise: number): number {
  const host = Math.floor(index / METRICS.length);
  const phase = step / 15 + host;
  let value: number;
  switch (index % METRICS.length) {
    case 0:
      if (breaches(host) && ((step >= 100 && step < 140) || step >= 170)) value = 92 + noise * 6;
      else if (breaches(host) && step >= 80 && step < 100) value = 50 + 2 * (step - 80) + noise * 4;
      else value = 40 + 15 * Math.sin(phase) + noise * 10;
      break;
    case 1:
      value = 60 + 5 * Math.sin(phase) + noise * 5;
      break;
    case 2:
      value = 20 + noise * 10;
      break;
    default:
      value = 1000 + 300 * Math.sin(phase) + noise * 50;
  }
  return Math.round(value * 1000) / 1000;
}

/** One canonical JSON message (`{"name","labels","timestamp","value"}`). */
export function jsonMessage(index: number, step: number, tsMs: number, noise: number): string {
  const { name, labels } = seriesOf(index);
  return JSON.stringify({ name, labels, timestamp: tsMs, value: valueOf(index, step, noise) });
}

/** Series key a producer would partition by (the series' identity). */
export function messageKey(index: number): string {
  const { name, labels } = seriesOf(index);
  return `${name}|${labels.host}`;
}

/** A message no decoder accepts (truncated JSON), to exercise the dead-letter path. */
export const MALFORMED_MESSAGE = '{"name":"cpu_utilization","labels":{"host":"host-000001"';

/** A seeded noise source shared by the generators. */
export function noiseSource(seed = 42): () => number {
  return seededRandom(seed);
}
