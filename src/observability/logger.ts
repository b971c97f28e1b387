import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs (pino): one object per line, events named in past-tense snake_case in
 * the `event` field. The clock is injectable so tests get stable output.
 */
export function createLogger(options: {
  level: string;
  nowMs?: () => number;
  destination?: NodeJS.WritableStream;
}): Logger {
  const config: LoggerOptions = {
    level: options.level,
    base: { service: 'healcast' },
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.nowMs) {
    const nowMs = options.nowMs;
    config.timestamp = () => `,"time":${nowMs()}`;
  }
  return options.destination ? pino(config, options.destination) : pino(config);
}
