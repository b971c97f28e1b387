import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../src/main.js';
import { silentLogger } from '../helpers/fakes.js';
import {
  createTopics,
  scrape,
  tempFile,
  testKafka,
  testWorkerConfig,
  uniqueName,
  waitFor,
} from '../helpers/integration.js';
import { SCENARIO_POLICY } from '../helpers/scenario.js';
import { serviceEnv } from '../setup/env.js';

// The broker's jars, downloaded by scripts/services.sh, include Kafka's own console producer
// and the Java compression libraries (zstd-jni, lz4-java, snappy-java): the reference
// implementation of what Telegraf and the OpenTelemetry Collector put on the wire.
const LIBS = join(process.env.HEALCAST_CACHE_DIR ?? '.cache', 'kafka', 'libs');
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const PER_CODEC = 200;

/** Pipes `lines` into Kafka's Java console producer with `compression.type=codec`. */
function produceWithJava(
  broker: string,
  topic: string,
  codec: string,
  lines: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx256m',
        '-cp',
        `${LIBS}/*`,
        'org.apache.kafka.tools.ConsoleProducer',
        '--bootstrap-server',
        broker,
        '--topic',
        topic,
        // --compression-codec, not compression.type: the console producer overrides the latter.
        '--compression-codec',
        codec,
        '--producer-property',
        'linger.ms=100',
        '--producer-property',
        'batch.size=1000000',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`console producer (${codec}) exited ${code}: ${stderr}`)),
    );
    child.stdin.end(lines.join('\n') + '\n');
  });
}

describe.skipIf(!existsSync(LIBS))('batches compressed by the Java producer', () => {
  let running: RunningWorker | undefined;
  afterAll(async () => {
    await running?.stop();
  });

  it('are read with every codec (gzip, snappy, lz4, zstd)', async () => {
    const { kafkaBrokers, redisUrl } = serviceEnv();
    const topic = uniqueName('java');
    const admin = testKafka(kafkaBrokers).admin();
    await admin.connect();
    await createTopics(admin, [{ topic, numPartitions: 1 }]);
    await admin.disconnect();

    const baseMs = Date.now() - 3_600_000;
    await Promise.all(
      CODECS.map((codec, c) =>
        produceWithJava(
          kafkaBrokers.split(',')[0] as string,
          topic,
          codec,
          Array.from({ length: PER_CODEC }, (_, i) =>
            JSON.stringify({
              name: 'java_produced',
              labels: { codec },
              timestamp: baseMs + (c * PER_CODEC + i) * 1000,
              value: i,
            }),
          ),
        ),
      ),
    );

    const config = testWorkerConfig({
      kafkaBrokers,
      redisUrl,
      topic,
      policies: tempFile('p.yaml', SCENARIO_POLICY),
    });
    running = await startWorker(config, silentLogger());
    const port = running.httpPort;
    const ok = await waitFor(
      'all Java-produced messages decoded',
      async () => {
        const value = (await scrape(port, 'healcast_messages_total')).get('{outcome="ok"}') ?? 0;
        return value >= CODECS.length * PER_CODEC ? value : undefined;
      },
      60_000,
    );
    expect(ok).toBe(CODECS.length * PER_CODEC);
    const dead = await scrape(port, 'healcast_dead_letters_total');
    expect([...dead.values()].reduce((a, b) => a + b, 0)).toBe(0);
    expect((await scrape(port, 'healcast_live_series')).get('')).toBe(CODECS.length);
  });
});
