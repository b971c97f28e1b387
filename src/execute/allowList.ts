import type { z } from 'zod';
import type { TargetEntry } from '../config/executorConfig.js';
import { targetKeyOf, type ActionEnvelope } from '../dispatch/envelope.js';
import { HealcastError } from '../errors.js';
import type { AllowedTarget } from './decide.js';
import type { ResolvedTarget, ExecutorTargets } from './executor.js';
import { GuardrailsSchema, type Guardrails } from './guardrails.js';
import { DRIVER_TYPES, type DriverType, type TargetDriver } from './targetDriver.js';

/** A driver and the schema of its per-target settings. */
export interface DriverBinding {
  readonly driver: TargetDriver;
  readonly settingsSchema: z.ZodType;
  /**
   * Start-up check of one target's settings (a webhook's secret is set, a command is
   * executable), so a bad allow-list fails the start, not the first action.
   */
  readonly check?: (settings: unknown) => Promise<void> | void;
}

/**
 * The executor's allow-list: built once at start-up from its config, so a bad entry fails the
 * start (with its path) rather than the first action. Lookup is by the exact target key an
 * action carries; nothing in an action can add to it.
 */
export class AllowList implements ExecutorTargets {
  private readonly byKey = new Map<string, ResolvedTarget>();
  private readonly checks: (() => Promise<void> | void)[] = [];

  constructor(
    entries: readonly TargetEntry[],
    defaults: {
      readonly guardrails: Guardrails;
      readonly requireApproval: readonly ActionEnvelope['type'][];
    },
    bindings: Readonly<Partial<Record<DriverType, DriverBinding>>>,
  ) {
    const problems: string[] = [];
    entries.forEach((entry, index) => {
      const type = DRIVER_TYPES.find((d) => entry[d] !== undefined);
      const binding = type === undefined ? undefined : bindings[type];
      if (type === undefined || binding === undefined) {
        problems.push(`targets.${index}: no driver available${type ? ` for ${type}` : ''}`);
        return;
      }
      const settings = binding.settingsSchema.safeParse(entry[type]);
      if (!settings.success) {
        for (const issue of settings.error.issues) {
          problems.push(
            `targets.${index}.${type}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`,
          );
        }
        return;
      }
      const guardrails = GuardrailsSchema.parse({
        ...defaults.guardrails,
        ...stripUndefined(entry.guardrails ?? {}),
      });
      if (guardrails.minReplicas > guardrails.maxReplicas) {
        problems.push(
          `targets.${index}.guardrails: minReplicas ${guardrails.minReplicas} is above maxReplicas ${guardrails.maxReplicas}`,
        );
        return;
      }
      const key = targetKeyOf(entry.target);
      const parsed: unknown = settings.data;
      const allowed: AllowedTarget = {
        key,
        guardrails,
        requireApproval: entry.requireApproval ?? defaults.requireApproval,
        supports: (action) => binding.driver.supports(parsed, action),
      };
      this.byKey.set(key, { allowed, driver: binding.driver, settings: parsed });
      const check = binding.check;
      if (check !== undefined) this.checks.push(() => check(parsed));
    });
    if (problems.length > 0) {
      throw new HealcastError(
        'CONFIG_INVALID',
        `invalid executor targets:\n  ${problems.join('\n  ')}`,
        {
          retriable: false,
        },
      );
    }
  }

  /** Runs every target's start-up check; throws the first problem. */
  async check(): Promise<void> {
    for (const check of this.checks) await check();
  }

  resolve(target: ActionEnvelope['target']): ResolvedTarget | undefined {
    return this.byKey.get(targetKeyOf(target));
  }

  byTargetKey(key: string): ResolvedTarget | undefined {
    return this.byKey.get(key);
  }

  get size(): number {
    return this.byKey.size;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
