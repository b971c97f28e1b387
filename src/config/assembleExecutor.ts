import { HealcastError } from '../errors.js';
import { buildConfig, environmentLayer } from './assemble.js';
import {
  EXECUTOR_ENVIRONMENT,
  ExecutorConfigSchema,
  type ExecutorConfig,
} from './executorConfig.js';

type Plain = Record<string, unknown>;

/** The executor's environment as a config layer (see EXECUTOR_ENVIRONMENT). */
export function executorEnvironmentLayer(env: Readonly<Record<string, string | undefined>>): Plain {
  return environmentLayer(env, EXECUTOR_ENVIRONMENT);
}

/** The executor's configuration from its layers (defaults < file < environment < flags). */
export function buildExecutorConfig(...layers: Plain[]): ExecutorConfig {
  return buildConfig(ExecutorConfigSchema, 'executor configuration', ...layers);
}

/** An executor configuration that has its Redis (what `healcast executor` runs with). */
export type RedisExecutorConfig = ExecutorConfig & {
  readonly redis: NonNullable<ExecutorConfig['redis']>;
};

/** Narrows to a configuration with Redis, or says clearly what is missing. */
export function requireRedis(config: ExecutorConfig): RedisExecutorConfig {
  if (config.redis === undefined) {
    throw new HealcastError(
      'CONFIG_INVALID',
      'invalid executor configuration:\n  redis.url: required (set REDIS_URL, --redis, or redis.url in the config file)',
      { retriable: false },
    );
  }
  return config as RedisExecutorConfig;
}
