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

  // A scale-in must not give up capacity the forecast expects to need before a released
  // replica could serve again: its lead time is the same start-up delay, not a fitted horizon.
  it.each(TraceKindSchema.options)('%s: scale-in lead time = the start-up delay', (kind) => {
    const file = `src/demo/backtest/${kind}.policy.yaml`;
    const policies = parsePolicies(readFileSync(file, 'utf8'), file);
    const settings = SimulationSettingsSchema.parse(DEFAULT_SIMULATION[kind]);
    const scaleIns = policies.filter((p) => p.trigger.direction === 'below');
    expect(scaleIns.length).toBeGreaterThan(0);
    for (const p of scaleIns) {
      expect(p.leadTimeMs, p.name).toBe(settings.startupDelay);
      expect(p.warnings, p.name).toEqual([]);
    }
  });

  // One risk of running short for every default policy and every kind: the probability a
  // predictive scale-out acts at is the one a scale-in keeps capacity for (`reserve`), so the
  // two directions do not pull against each other, and no kind has a value of its own.
  it('one risk: predict.probability = reserve.probability, the same for every kind', () => {
    const risks = new Set<number>();
    for (const kind of TraceKindSchema.options) {
      const file = `src/demo/backtest/${kind}.policy.yaml`;
      for (const p of parsePolicies(readFileSync(file, 'utf8'), file)) {
        risks.add(
          p.trigger.direction === 'below'
            ? p.reserveProbability
            : (p.trigger.predict?.probability ?? Number.NaN),
        );
      }
    }
    expect([...risks]).toHaveLength(1);
    expect([...risks][0]).not.toBeNaN();
  });
});
