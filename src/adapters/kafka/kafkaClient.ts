import kafkajs from 'kafkajs';
import type { Kafka, LogEntry } from 'kafkajs';
import type { Logger } from '../../observability/logger.js';
import { kafkaLogLevel } from './kafkaMetricSource.js';

const { Kafka: KafkaClass, logLevel } = kafkajs;

/** Builds the kafkajs client, routing its logs into our structured logger. */
export function createKafka(options: {
  brokers: readonly string[];
  clientId: string;
  log: Logger;
  logLevel: string;
}): Kafka {
  const log = options.log.child({ component: 'kafkajs' });
  return new KafkaClass({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: kafkaLogLevel(options.logLevel),
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level === logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
  });
}
