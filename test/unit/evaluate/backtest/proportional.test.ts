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

  it("sizes a predictive scale-out at the policy's risk level, never as a scale-in", () => {
    const predicted = (forecastUpper: number, forecastAtRisk?: number) =>
      scaleMetricValue({
        evidence: {
          value: 60,
          direction: 'above',
          prediction: {
            forecastUpper,
            ...(forecastAtRisk === undefined ? {} : { forecastAtRisk }),
          },
        },
        scale,
      } as never);
    expect(predicted(120, 95)).toBe(95);
    // A worker that does not send it: the upper quantile, as before.
    expect(predicted(120)).toBe(120);
    // A forecast under the target keeps the count: a scale-out policy does not scale in.
    expect(predicted(120, 50)).toBe(70);
    expect(
      planScale(scale, 10, guardrails, { executedAtMs: [] }, 0, predicted(120, 50)),
    ).toMatchObject({ ok: false, reason: 'no_change' });
  });

  it('never scales the other way than its trigger, whichever kind of fire', () => {
    // A predictive fire on a below trigger whose forecast tail sits above the target: no scale-out.
    expect(
      scaleMetricValue({
        scale,
        evidence: { value: 40, direction: 'below', prediction: { forecastAtRisk: 90 } },
      } as never),
    ).toBe(70);
    // A reactive above fire of a policy whose threshold (60) is under its target (70): no scale-in.
    expect(scaleMetricValue({ scale, evidence: { value: 65, direction: 'above' } } as never)).toBe(
      70,
    );
    expect(scaleMetricValue({ scale, evidence: { value: 91, direction: 'above' } } as never)).toBe(
      91,
    );
  });

  it('does not size a scale-in below the load forecast until capacity could be back', () => {
    const below = (breachPeak: number, forecastAheadPeak?: number, withScale = true) =>
      scaleMetricValue({
        evidence: {
          value: 20,
          breachPeak,
          direction: 'below',
          baselineMean: 40,
          ...(forecastAheadPeak === undefined ? {} : { forecastAheadPeak }),
        },
        ...(withScale ? { scale } : {}),
      } as never);
    // The quiet spell peaked at 50 %, the forecast expects 62 % within the lead time.
    expect(below(50, 62)).toBe(62);
    // 10 replicas: ceil(10 × 62 / 70) = 9, where the breach's peak alone would give 8.
    expect(planScale(scale, 10, guardrails, { executedAtMs: [] }, 0, below(50, 62))).toMatchObject({
      ok: true,
      toReplicas: 9,
    });
    // A forecast below the peak changes nothing; without one the peak rules as before.
    expect(below(50, 30)).toBe(50);
    expect(below(50)).toBe(50);
    // Load forecast above the target: do not scale in — but never scale out on a `below` fire.
    expect(below(50, 95)).toBe(70);
    expect(planScale(scale, 10, guardrails, { executedAtMs: [] }, 0, below(50, 95))).toMatchObject({
      ok: false,
      reason: 'no_change',
    });
    // Without the envelope's scale (no target known) the value is not capped.
    expect(below(50, 95, false)).toBe(95);
    // Predictive and `above` fires ignore it.
    expect(
      scaleMetricValue({
        evidence: { value: 90, direction: 'above', forecastAheadPeak: 120 },
        scale,
      } as never),
    ).toBe(90);
  });

  it('takes a lead time on a proportional scale-in without a warning', () => {
    const parse = (action: string) =>
      parsePolicies(
        `- trigger: { metric: u, threshold: 63, direction: below, duration: 5m }
  leadTime: 2m
  target: { name: web }
  actions: [{ type: scale, parameters: { ${action} } }]`,
        'p.yaml',
      )[0]?.warnings;
    expect(parse('targetPerReplica: 70')).toEqual([]);
    // A relative scale-in does not size from anything: the lead time has no effect there.
    expect(parse("replicas: '-1'")).toEqual(['leadTime: has no effect without trigger.predict']);
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
