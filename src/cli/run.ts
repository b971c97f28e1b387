import { fileLayer } from '../adapters/fsConfigFile.js';
import { buildWorkerConfig, workerEnvironmentLayer } from '../config/assemble.js';
import type { WorkerConfig } from '../config/workerConfig.js';
import { startWorker } from '../main.js';
import { createLogger } from '../observability/logger.js';

/** Options of `healcast run` as commander hands them over (strings until validated). */
export interface RunFlags {
  config?: string;
  policies?: string;
  brokers?: string;
  redis?: string;
  topics?: string;
  group?: string;
  deadLetterTopic?: string;
  deploymentsTopic?: string;
  format?: string;
  fromBeginning?: boolean;
  host?: string;
  port?: string;
  logLevel?: string;
  maxSeries?: string;
  embedded?: boolean;
  trace?: string;
  speed?: string;
  loop?: boolean;
  exitWhenDone?: boolean;
}

/** Numbers from the command line stay text when malformed, so validation names the flag's path. */
export function numberOrText(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

function list(text: string | undefined): string[] | undefined {
  return text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

/** Builds the command-line layer of the configuration. */
export function flagsLayer(flags: RunFlags): Record<string, unknown> {
  const kafka: Record<string, unknown> = {
    brokers: list(flags.brokers),
    topics: list(flags.topics),
    groupId: flags.group,
    deadLetterTopic: flags.deadLetterTopic,
    deploymentsTopic: flags.deploymentsTopic,
    format: flags.format,
    fromBeginning: flags.fromBeginning,
  };
  const layer: Record<string, unknown> = {
    policies: flags.policies,
    logLevel: flags.logLevel,
    maxSeries: numberOrText(flags.maxSeries),
    http: { host: flags.host, port: numberOrText(flags.port) },
    replay: { trace: flags.trace, speed: numberOrText(flags.speed), loop: flags.loop },
  };
  if (Object.values(kafka).some((v) => v !== undefined)) layer.kafka = kafka;
  if (flags.redis !== undefined) layer.redis = { url: flags.redis };
  if (flags.brokers !== undefined) layer.mode = 'kafka';
  if (flags.embedded) layer.mode = 'embedded';
  return layer;
}

/** Resolves the configuration of `healcast run`: defaults < file < environment < flags. */
export async function resolveRunConfig(
  flags: RunFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<WorkerConfig> {
  const fromFile = await fileLayer(flags.config);
  const fromEnv = flags.embedded ? {} : workerEnvironmentLayer(env);
  return buildWorkerConfig(fromFile, fromEnv, flagsLayer(flags));
}

/** `healcast run`: starts the worker and runs until SIGTERM/SIGINT (or the demo ends). */
export async function run(flags: RunFlags): Promise<number> {
  const config = await resolveRunConfig(flags, process.env);
  const log = createLogger({ level: config.logLevel });
  const running = await startWorker(config, log);
  const base = `http://${config.http.host}:${running.httpPort}`;
  const what =
    config.mode === 'embedded'
      ? `embedded demo: replaying ${config.replay.trace ?? 'the NASA-HTTP trace (3 days, 1-minute steps)'} at ${config.replay.speed}x, actions to an in-process queue and the executor core on simulated targets (src/demo/executor.yaml)`
      : `consuming ${config.kafka?.topics.join(', ')} from ${config.kafka?.brokers.join(', ')}, actions to ${config.redis?.url}`;
  log.info(
    { event: 'worker_started', mode: config.mode, metricsUrl: `${base}/metrics` },
    `healcast is running (${what}). Metrics: ${base}/metrics  Forecasts: ${base}/ui  Health: ${base}/healthz  Readiness: ${base}/readyz`,
  );
  process.stderr.write(
    `\nhealcast ${config.mode === 'embedded' ? 'embedded demo ' : ''}is running.\n` +
      `  ${what}\n  metrics:   ${base}/metrics\n  forecasts: ${base}/ui  (JSON: ${base}/api/series)\n` +
      `  liveness:  ${base}/healthz\n  readiness: ${base}/readyz\n` +
      `  logs: JSON lines on stdout (event "action_enqueued" for each action). Ctrl-C to stop.\n\n`,
  );

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (reason: string): void => {
      if (stopping) {
        log.warn({ event: 'forced_exit' }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      log.info(
        { event: 'shutdown_started', reason },
        `shutting down (${reason}): finishing the current batch`,
      );
      running.stop().then(
        () => {
          log.info({ event: 'shutdown_completed' }, 'stopped cleanly');
          resolveExit(0);
        },
        (error: unknown) => {
          log.error({ event: 'shutdown_failed', error: String(error) }, 'shutdown failed');
          resolveExit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    void running.finished.then(() => {
      log.info(
        { event: 'replay_finished' },
        flags.exitWhenDone
          ? 'replay finished'
          : `replay finished; still serving ${base}/metrics — Ctrl-C to stop`,
      );
      if (flags.exitWhenDone) stop('replay finished');
    });
  });
}
