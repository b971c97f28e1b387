import { hostname } from 'node:os';
import { z } from 'zod';
import { ActionEnvelopeSchema, targetKeyOf } from '../dispatch/envelope.js';
import { GuardrailOverridesSchema, GuardrailsSchema } from '../execute/guardrails.js';
import { DRIVER_TYPES } from '../execute/targetDriver.js';
import { DurationMs } from './duration.js';
import { RedisConfigSchema } from './workerConfig.js';
// Only the schema: this file does not load @kubernetes/client-node.
import { KubernetesConnectionSchema } from '../adapters/targets/kubernetesSettings.js';

// Driver settings are validated by each driver's own schema when the executor is composed
// (see src/adapters/targets); here only their presence and shape as objects.
const DriverSettings = z.record(z.string(), z.unknown());

/**
 * One allow-listed target: the target exactly as policies render it (`kind`, `name`,
 * `namespace`), and exactly one driver section saying how to act on it. An action whose
 * target matches no entry is refused and recorded: a metric or a message can never make the
 * executor act on something its operator did not list.
 */
export const TargetEntrySchema = z
  .strictObject({
    target: z.strictObject({
      kind: z.string().min(1),
      name: z.string().min(1),
      namespace: z.string().min(1).optional(),
    }),
    pm2: DriverSettings.optional(),
    kubernetes: DriverSettings.optional(),
    webhook: DriverSettings.optional(),
    command: DriverSettings.optional(),
    /** An in-memory target that changes nothing (the embedded demo; trying an allow-list). */
    simulated: DriverSettings.optional(),
    /** Overrides of the executor-wide guardrails for this target. */
    guardrails: GuardrailOverridesSchema.optional(),
    /** Action types that wait for a human on this target (default: the executor-wide list). */
    requireApproval: z.array(ActionEnvelopeSchema.shape.type).optional(),
  })
  .superRefine((entry, ctx) => {
    const drivers = DRIVER_TYPES.filter((d) => entry[d] !== undefined);
    if (drivers.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          drivers.length === 0
            ? `give exactly one driver section: ${DRIVER_TYPES.join(', ')}`
            : `give exactly one driver section, not ${drivers.join(' and ')}`,
      });
    }
  });
export type TargetEntry = z.output<typeof TargetEntrySchema>;

export const ExecutorConfigSchema = z
  .strictObject({
    /** Required by `healcast executor`; the embedded demo runs its executor in memory. */
    redis: RedisConfigSchema.optional(),
    consumer: z
      .strictObject({
        group: z.string().min(1).default('healcast-executor'),
        /**
         * Stable per instance: an executor restarted under the same name resumes its own
         * in-flight actions at once; give every instance a different one.
         */
        name: z.string().min(1).default(hostname()),
      })
      .default({ group: 'healcast-executor', name: hostname() }),
    /** Record what would be done (outcome `skipped`, reason `dry_run`) and change nothing. */
    dryRun: z.boolean().default(false),
    /** Act on nothing (outcome `skipped`, reason `kill_switch`); also a Redis key and an env var. */
    killSwitch: z.boolean().default(false),
    /** An action pending this long with a dead executor is re-claimed by another. */
    visibilityTimeout: DurationMs.default(30_000),
    /** A driver call taking longer is aborted and counts as a retriable failure. */
    actionTimeout: DurationMs.default(120_000),
    /** Actions decided longer ago than this are not executed (stale data). */
    maxActionAge: DurationMs.default(600_000),
    retry: z
      .strictObject({
        maxAttempts: z.number().int().min(1).max(100).default(5),
        initialBackoff: DurationMs.default(1_000),
        maxBackoff: DurationMs.default(60_000),
      })
      .default({ maxAttempts: 5, initialBackoff: 1_000, maxBackoff: 60_000 }),
    breaker: z
      .strictObject({
        failureThreshold: z.number().int().min(1).default(3),
        halfOpenAfter: DurationMs.default(30_000),
      })
      .default({ failureThreshold: 3, halfOpenAfter: 30_000 }),
    guardrails: GuardrailsSchema.default(GuardrailsSchema.parse({})),
    /** Action types that wait for `healcast approve`; rollback by default. */
    requireApproval: z.array(ActionEnvelopeSchema.shape.type).default(['rollback']),
    /** Entries read per poll. */
    batchSize: z.number().int().min(1).max(1000).default(16),
    /** Connection of the kubernetes driver (default: the usual kubeconfig lookup). */
    kubernetes: KubernetesConnectionSchema.optional(),
    /** The pm2 driver's daemon (default: PM2's own PM2_HOME lookup). */
    pm2: z.strictObject({ home: z.string().min(1).optional() }).optional(),
    http: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9465),
      })
      .default({ host: '0.0.0.0', port: 9465 }),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
      })
      .default({ level: 'info' }),
    targets: z.array(TargetEntrySchema).default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.targets.forEach((entry, index) => {
      const key = targetKeyOf(entry.target);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'target'],
          message: `target ${key} is listed twice (also targets[${earlier}])`,
        });
      }
      seen.set(key, index);
    });
    if (config.retry.initialBackoff > config.retry.maxBackoff) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'initialBackoff'],
        message: 'longer than retry.maxBackoff',
      });
    }
  });
export type ExecutorConfig = z.output<typeof ExecutorConfigSchema>;
export type ExecutorConfigInput = z.input<typeof ExecutorConfigSchema>;

/** Environment variables the executor reads, and the config path each sets. */
export const EXECUTOR_ENVIRONMENT = [
  { name: 'REDIS_URL', path: 'redis.url', kind: 'string' },
  // The worker's name for the same setting: both processes must agree on the key prefix.
  { name: 'HEALCAST_REDIS_PREFIX', path: 'redis.keyPrefix', kind: 'string' },
  { name: 'HEALCAST_EXECUTOR_NAME', path: 'consumer.name', kind: 'string' },
  { name: 'HEALCAST_DRY_RUN', path: 'dryRun', kind: 'bool' },
  { name: 'HEALCAST_KILL_SWITCH', path: 'killSwitch', kind: 'bool' },
  { name: 'HEALCAST_EXECUTOR_PORT', path: 'http.port', kind: 'int' },
  { name: 'HEALCAST_LOG_LEVEL', path: 'log.level', kind: 'string' },
] as const;
