import { describe, expect, it } from 'vitest';
import {
  GuardrailsSchema,
  planScale,
  proportionalReplicas,
  scaleMetricValue,
} from '../../../../src/execute/guardrails.js';
import { parsePolicies, tryParsePolicies } from '../../../../src/policy/load.js';

const guardrails = GuardrailsSchema.parse({ maxStepUp: 50, maxStepDown: 50, maxReplicas: 100 });
const scale = { mode: 'proportional' as const, replicas: 0, targetPerReplica: 70 };

describe('proportional (HPA-like) scale mode', () => {
  it('sizes to ceil(current × value / targetPerReplica), without float noise', () => {
    expect(proportionalReplicas(4, 105, 70)).toBe(6);
    expect(proportionalReplicas(6, 84, 70)).toBe(8);
    expect(proportionalReplicas(10, 70, 70)).toBe(10);
    expect(proportionalReplicas(3, Number.NaN, 70)).toBe(3);
  });

  it('goes through the guardrails like any other request', () => {
    expect(planScale(scale, 4, guardrails, { executedAtMs: [] }, 0, 105)).toMatchObject({
      ok: true,
      toReplicas: 6,
    });
    // Scale-in within the stabilization window after a scale-out is refused.
    expect(
      planScale(scale, 10, guardrails, { executedAtMs: [], lastScaleUpAtMs: 0 }, 60_000, 35),
    ).toMatchObject({ ok: false, reason: 'stabilizing' });
    // Without a value there is nothing to size for.
    expect(planScale(scale, 4, guardrails, { executedAtMs: [] }, 0)).toMatchObject({
      ok: false,
      reason: 'no_change',
    });
  });

  it('uses the forecast upper quantile for predictive fires, the observed value otherwise', () => {
    expect(scaleMetricValue({ evidence: { value: 80 } } as never)).toBe(80);
    expect(
      scaleMetricValue({ evidence: { value: 60, prediction: { forecastUpper: 95 } } } as never),
    ).toBe(95);
  });

  it('is a validated policy parameter', () => {
    const [policy] = parsePolicies(
      `- trigger: { metric: u, threshold: 77, duration: 0 }
  target: { name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70, max: 20 } }]`,
      'p.yaml',
    );
    expect(policy?.actions[0]).toMatchObject({
      scale: { mode: 'proportional', replicas: 0, targetPerReplica: 70, maxReplicas: 20 },
    });
    expect(policy?.warnings).toEqual([]);
    for (const bad of [
      'targetPerReplica: 0',
      "targetPerReplica: '70'",
      "targetPerReplica: 70, replicas: '+2'",
    ]) {
      const result = tryParsePolicies(
        `- trigger: { metric: u, threshold: 77, duration: 0 }
  target: { name: web }
  actions: [{ type: scale, parameters: { ${bad} } }]`,
        'p.yaml',
      );
      expect(result.ok, bad).toBe(false);
    }
  });
});
