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
    expect(scaleMetricValue({ evidence: { value: 80, direction: 'above' } } as never)).toBe(80);
    expect(
      scaleMetricValue({
        evidence: { value: 60, direction: 'above', prediction: { forecastUpper: 95 } },
      } as never),
    ).toBe(95);
  });

  it('sizes a scale-in from the baseline level when the last sample is quieter', () => {
    const below = (value: number, baselineMean: number | null) =>
      scaleMetricValue({
        evidence: { value, direction: 'below', baselineMean, baselineUpper: null },
      } as never);
    // A quiet minute (20 %) in a series that runs at 50 %: size for 50, not 20.
    expect(below(20, 50)).toBe(50);
    // The sample above the level (load already growing back) is kept.
    expect(below(45, 30)).toBe(45);
    // Baseline still warming up: the sample is all there is.
    expect(below(20, null)).toBe(20);
    // An above breach ignores the baseline (a level below the sample would undersize).
    expect(
      scaleMetricValue({
        evidence: { value: 90, direction: 'above', baselineMean: 95 },
      } as never),
    ).toBe(90);
    // End to end: 10 replicas at 20 % (baseline 50 %) go to ceil(10 × 50 / 70) = 8, not 3.
    expect(planScale(scale, 10, guardrails, { executedAtMs: [] }, 0, below(20, 50))).toMatchObject({
      ok: true,
      toReplicas: 8,
    });
  });

  it("sizes a scale-in from the breach's peak when the worker sends it", () => {
    const below = (value: number, breachPeak: number, baselineMean: number | null) =>
      scaleMetricValue({
        evidence: { value, breachPeak, direction: 'below', baselineMean, baselineUpper: null },
      } as never);
    // The busiest minute of the quiet spell (55 %) wins over the last one (20 %) and over a
    // baseline that still remembers the busy hour before (90 %): that would scale *out*.
    expect(below(20, 55, 90)).toBe(55);
    expect(below(20, 55, null)).toBe(55);
    // 10 replicas whose quiet spell peaked at 55 % go to ceil(10 × 55 / 70) = 8.
    expect(
      planScale(scale, 10, guardrails, { executedAtMs: [] }, 0, below(20, 55, 90)),
    ).toMatchObject({
      ok: true,
      toReplicas: 8,
    });
    // An above breach sizes from its last value, peak or not (the reactive scale-out rule).
    expect(
      scaleMetricValue({
        evidence: { value: 90, breachPeak: 120, direction: 'above', baselineMean: 50 },
      } as never),
    ).toBe(90);
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
