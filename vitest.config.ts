import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests (seconds, no services) and integration tests that need the
// real Kafka broker and Redis server, started by test/setup/services.ts unless
// KAFKA_BROKERS / REDIS_URL point at running ones.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/services.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
