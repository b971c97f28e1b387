import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CommandTargetSettingsSchema } from '../../../src/adapters/targets/commandDriver.js';
import { KubernetesTargetSettingsSchema } from '../../../src/adapters/targets/kubernetesSettings.js';
import { Pm2TargetSettingsSchema } from '../../../src/adapters/targets/pm2Driver.js';
import { WebhookTargetSettingsSchema } from '../../../src/adapters/targets/webhookDriver.js';
import {
  buildExecutorConfig,
  executorEnvironmentLayer,
  requireRedis,
} from '../../../src/config/assembleExecutor.js';

const SCHEMAS = {
  pm2: Pm2TargetSettingsSchema,
  kubernetes: KubernetesTargetSettingsSchema,
  webhook: WebhookTargetSettingsSchema,
  command: CommandTargetSettingsSchema,
} as const;

describe('executor configuration', () => {
  it('the shipped example is valid, every target against its driver schema', () => {
    const file = parse(readFileSync('src/demo/executor.example.yaml', 'utf8')) as Record<
      string,
      unknown
    >;
    const config = buildExecutorConfig(file);
    expect(config.targets).toHaveLength(4);
    expect(config.requireApproval).toEqual(['rollback']);
    for (const entry of config.targets) {
      const type = (Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[]).find(
        (t) => entry[t] !== undefined,
      );
      expect(type).toBeDefined();
      expect(
        SCHEMAS[type as keyof typeof SCHEMAS].safeParse(entry[type as keyof typeof SCHEMAS])
          .success,
      ).toBe(true);
    }
  });

  it('environment and flags layer over the file; the kill switch and dry run come from the env', () => {
    const config = buildExecutorConfig(
      { redis: { url: 'redis://file:6379' } },
      executorEnvironmentLayer({
        REDIS_URL: 'redis://env:6379',
        HEALCAST_KILL_SWITCH: '1',
        HEALCAST_DRY_RUN: 'true',
        HEALCAST_REDIS_PREFIX: 'shop',
      }),
    );
    expect(config.redis?.url).toBe('redis://env:6379');
    // The variable the worker reads too (README), so both use the same keys.
    expect(config.redis?.keyPrefix).toBe('shop');
    expect(config.killSwitch).toBe(true);
    expect(config.dryRun).toBe(true);
  });

  it('the executor command needs Redis; the error says where to set it', () => {
    expect(() => requireRedis(buildExecutorConfig({}))).toThrow(
      /redis\.url: required \(set REDIS_URL/,
    );
  });

  it('reports every problem with its path', () => {
    expect(() =>
      buildExecutorConfig({
        redis: { url: 'http://nope' },
        targets: [
          { target: { kind: 'service', name: 'a' } },
          { target: { kind: 'service', name: 'b' }, pm2: { app: 'b' }, webhook: { url: 'x' } },
          { target: { kind: 'service', name: 'c' }, pm2: { app: 'c' } },
          { target: { kind: 'service', name: 'c' }, pm2: { app: 'c' } },
        ],
        retry: { initialBackoff: '2m', maxBackoff: '1m' },
      }),
    ).toThrow(
      /redis\.url: expected a redis:\/\/[\s\S]*targets\.0: give exactly one driver section[\s\S]*targets\.1: give exactly one driver section, not pm2 and webhook[\s\S]*targets\.3\.target: target service\/\/c is listed twice[\s\S]*retry\.initialBackoff: longer than retry\.maxBackoff/,
    );
  });
});
