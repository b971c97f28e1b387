// Where the integration tests find Kafka and Redis.
//
// test/setup/services.ts (the vitest globalSetup of the "integration" project) either takes
// KAFKA_BROKERS / REDIS_URL from the environment or starts the services with
// scripts/services.sh, then hands the addresses to the test workers with `provide`.
// Tests call serviceEnv() rather than reading process.env themselves.
import { inject } from 'vitest';

export interface ServiceEnv {
  /** Comma-separated host:port list, e.g. "127.0.0.1:19092". */
  kafkaBrokers: string;
  /** e.g. "redis://127.0.0.1:16379". */
  redisUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    healcastServices: ServiceEnv;
  }
}

export function serviceEnv(): ServiceEnv {
  // `inject` gives undefined when the globalSetup did not run (e.g. a test file run under
  // another project); then fall back to the environment.
  const provided: ServiceEnv | undefined = inject('healcastServices');
  const kafkaBrokers = provided?.kafkaBrokers ?? process.env['KAFKA_BROKERS'];
  const redisUrl = provided?.redisUrl ?? process.env['REDIS_URL'];
  if (!kafkaBrokers || !redisUrl) {
    throw new Error(
      'Kafka/Redis addresses unknown: run the tests with `--project integration` ' +
        '(its globalSetup starts them) or set KAFKA_BROKERS and REDIS_URL ' +
        '(e.g. `set -a; eval "$(bash scripts/services.sh up)"; set +a`).',
    );
  }
  return { kafkaBrokers, redisUrl };
}
