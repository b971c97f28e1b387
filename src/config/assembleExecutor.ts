import { HealcastError } from '../errors.js';
import { deepFreeze, environmentLayer, formatIssues, mergeLayers } from './assemble.js';
import {
  EXECUTOR_ENVIRONMENT,
  ExecutorConfigSchema,
  type ExecutorConfig,
  type ExecutorConfigInput,
} from './executorConfig.js';

type Plain = Record<string, unknown>;

/** The executor's environment as a config layer (see EXECUTOR_ENVIRONMENT). */
export function executorEnvironmentLayer(env: Readonly<Record<string, string | undefined>>): Plain {
  return environmentLayer(env, EXECUTOR_ENVIRONMENT);
}

/**
 * Validates the merged layers (defaults < file < environment < flags). Throws a non-retriable
 * CONFIG_INVALID error listing every problem with its path.
 */
export function buildExecutorConfig(...layers: Plain[]): ExecutorConfig {
  const input = mergeLayers(...layers) as ExecutorConfigInput;
  const parsed = ExecutorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error, input);
    throw new HealcastError(
      'CONFIG_INVALID',
      `invalid executor configuration:\n  ${lines.join('\n  ')}`,
      {
        retriable: false,
      },
    );
  }
  return deepFreeze(parsed.data);
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
