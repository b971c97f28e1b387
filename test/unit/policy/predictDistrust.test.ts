import { describe, expect, it } from 'vitest';
import { describePolicy } from '../../../src/cli/policyValidate.js';
import { parsePolicies, tryParsePolicies } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/schema.js';

function policy(predict: string): string {
  return `
- name: p
  trigger: { metric: cpu, threshold: 80, duration: 0, predict: ${predict} }
  target: { name: web }
  actions: [{ type: restart }]`;
}

function parseOne(predict: string): Policy {
  const [parsed] = parsePolicies(policy(predict), 'p.yaml');
  if (parsed === undefined) throw new Error('no policy');
  return parsed;
}

describe('trigger.predict.distrust', () => {
  it('is off unless given, and `distrust: {}` takes the defaults', () => {
    expect(parseOne('{ horizon: 10m, probability: 0.35 }').trigger.predict?.distrust).toBe(
      undefined,
    );
    const on = parseOne('{ horizon: 10m, probability: 0.35, distrust: {} }');
    expect(on.trigger.predict?.distrust).toEqual({
      halfLifeFires: 20,
      priorFires: 10,
      maxFactor: 2,
    });
    expect(on.warnings).toEqual([]);
  });

  it.each([
    ['{ maxFactor: 0.5 }', /maxFactor/],
    ['{ halfLifeFires: 0 }', /halfLifeFires/],
    ['{ priorFires: -1 }', /priorFires/],
    ['{ halfLife: 5 }', /halfLife/],
  ])('rejects %s', (distrust, message) => {
    const result = tryParsePolicies(
      policy(`{ horizon: 10m, probability: 0.35, distrust: ${distrust} }`),
      'p.yaml',
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(message);
  });

  it.each([
    ['{ horizon: 10m, probability: 1, distrust: {} }', 'probability 1'],
    ['{ horizon: 10m, probability: 0.35, distrust: { maxFactor: 1 } }', 'maxFactor 1'],
  ])('warns where it has no effect: %s', (predict, why) => {
    expect(parseOne(predict).warnings).toEqual([
      `trigger.predict.distrust: has no effect (${why} leaves the threshold no room to rise)`,
    ]);
  });

  it('is described by policy validate, with its ceiling', () => {
    expect(describePolicy(parseOne('{ horizon: 10m, probability: 0.35, distrust: {} }'))).toMatch(
      /; predicts 10m ahead at p≥0\.35, raised per series up to p≥0\.7 while its fires prove unneeded \(half-life 20 fires\)$/,
    );
    expect(
      describePolicy(parseOne('{ horizon: 10m, probability: 0.8, distrust: { maxFactor: 3 } }')),
    ).toMatch(/up to p≥1 while/);
  });
});
