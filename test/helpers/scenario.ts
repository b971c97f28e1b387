/**
 * The foundation scenario: 10 hosts report cpu_utilization every 10 s; host web-1 goes above
 * 80 after 30 minutes and stays there. 1% of the messages are malformed in assorted ways.
 * Good messages rotate through the three wire formats the worker reads.
 */

export const STEP_MS = 10_000;
export const HOSTS = 10;
export const SAMPLES_PER_HOST = 990;
export const BREACH_FROM_SAMPLE = 180;
export const TOTAL_MESSAGES = 10_000;
export const MALFORMED = 100;

/** The policy the scenario drives: > 80 for 5 m on web-1, scale +2 up to 10, cooldown 10 m. */
export const SCENARIO_POLICY = `
policies:
  - name: web-cpu-high
    trigger:
      metric: cpu_utilization
      selector: { host: web-1 }
      threshold: 80
      duration: 5m
    target: { kind: deployment, name: web, namespace: prod }
    actions:
      - type: scale
        parameters: { replicas: "+2", max: 10 }
    cooldown: 10m
`;

export interface ScenarioMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly malformed: boolean;
}

function cpuValue(host: number, i: number): number {
  if (host === 1 && i >= BREACH_FROM_SAMPLE) return 90 + (i % 5);
  return 50 + 10 * Math.sin((i + host * 7) / 20);
}

const MALFORMED_KINDS: ((i: number, tsMs: number) => Buffer)[] = [
  () => Buffer.from('{"name":"cpu_utilization","labels":{"host":"web-1"'), // truncated JSON
  (_, ts) =>
    Buffer.from(
      JSON.stringify({ name: 'cpu_utilization', labels: {}, timestamp: ts, value: 'high' }),
    ),
  (_, ts) => Buffer.from(JSON.stringify({ labels: { host: 'x' }, timestamp: ts, value: 1 })), // no name
  (_, ts) =>
    Buffer.from(JSON.stringify({ name: 'cpu utilization', labels: {}, timestamp: ts, value: 1 })),
  (_, ts) =>
    Buffer.from(
      JSON.stringify({ name: 'cpu_utilization', labels: {}, timestamp: ts, value: '+Inf' }),
    ),
  (_, ts) =>
    Buffer.from(
      JSON.stringify({ name: 'cpu_utilization', labels: {}, timestamp: ts + 86_400_000, value: 1 }),
    ),
  () => Buffer.from('cpu,host=web-1 usage_idle= 1'), // broken line protocol
  () => Buffer.alloc(0),
  (_, ts) => {
    const labels: Record<string, string> = {};
    for (let l = 0; l < 40; l++) labels[`l${l}`] = 'x';
    return Buffer.from(
      JSON.stringify({ name: 'cpu_utilization', labels, timestamp: ts, value: 1 }),
    );
  },
  (_, ts) =>
    Buffer.from(
      JSON.stringify({ name: 'cpu_utilization', labels: {}, timestamp: ts, value: 1e300 }),
    ),
];

/**
 * Builds the 10,000 messages in production order (time-major), keyed by host so each series
 * stays in one partition, as a real producer keyed by series would.
 */
export function buildScenario(baseMs: number): ScenarioMessage[] {
  const out: ScenarioMessage[] = [];
  let malformedLeft = MALFORMED;
  for (let i = 0; i < SAMPLES_PER_HOST; i++) {
    const tsMs = baseMs + i * STEP_MS;
    for (let host = 1; host <= HOSTS; host++) {
      const value = cpuValue(host, i);
      const name = `web-${host}`;
      const format = (i + host) % 3;
      let bytes: string;
      if (format === 0) {
        bytes = JSON.stringify({
          name: 'cpu_utilization',
          labels: { host: name, env: 'prod' },
          timestamp: tsMs,
          value,
        });
      } else if (format === 1) {
        // prometheus-kafka-adapter shape
        bytes = JSON.stringify({
          timestamp: new Date(tsMs).toISOString(),
          value: String(value),
          name: 'cpu_utilization',
          labels: { __name__: 'cpu_utilization', env: 'prod', host: name },
        });
      } else {
        // Influx line protocol as Telegraf sends it (ns precision); measurement_field naming
        bytes = `cpu,env=prod,host=${name} utilization=${value} ${BigInt(tsMs) * 1_000_000n}`;
      }
      out.push({ key: name, value: Buffer.from(bytes), malformed: false });
    }
    if (malformedLeft > 0 && i % 9 === 4) {
      const kind = MALFORMED_KINDS[(MALFORMED - malformedLeft) % MALFORMED_KINDS.length] as (
        i: number,
        ts: number,
      ) => Buffer;
      out.push({ key: `bad-${malformedLeft}`, value: kind(i, tsMs), malformed: true });
      malformedLeft--;
    }
  }
  return out;
}

/** Event times (ms) at which the policy must fire: 5 m into the breach, then every 10 m. */
export function expectedFireTimes(baseMs: number): number[] {
  const times: number[] = [];
  const breachStart = baseMs + BREACH_FROM_SAMPLE * STEP_MS;
  const last = baseMs + (SAMPLES_PER_HOST - 1) * STEP_MS;
  let next = breachStart + 5 * 60_000;
  while (next <= last) {
    times.push(next);
    next += 10 * 60_000;
  }
  return times;
}
