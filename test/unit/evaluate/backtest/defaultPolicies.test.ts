import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIMULATION,
  SimulationSettingsSchema,
  TraceKindSchema,
} from '../../../../src/evaluate/backtest/settings.js';
import { parsePolicies } from '../../../../src/policy/load.js';

describe('default backtest policies', () => {
  // A predictive fire is only worth its cost if the capacity it starts is ready before the
  // breach: the lead time must cover the simulated target's start-up delay, per kind.
  it.each(TraceKindSchema.options)('%s: predictive lead time = the start-up delay', (kind) => {
    const file = `src/demo/backtest/${kind}.policy.yaml`;
    const policies = parsePolicies(readFileSync(file, 'utf8'), file);
    const settings = SimulationSettingsSchema.parse(DEFAULT_SIMULATION[kind]);
    const predictive = policies.filter((p) => p.trigger.predict !== undefined);
    expect(predictive.length).toBeGreaterThan(0);
    for (const p of predictive) {
      expect(p.leadTimeMs, p.name).toBe(settings.startupDelay);
    }
  });
});
