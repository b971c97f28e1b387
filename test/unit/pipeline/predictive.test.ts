import { describe, expect, it } from 'vitest';
import { BaselineConfigSchema } from '../../../src/baseline/ewma.js';
import { ActionEnvelopeSchema } from '../../../src/dispatch/envelope.js';
import { ForecastEngine } from '../../../src/forecast/engine.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { toPipelinePolicy } from '../../../src/pipeline/pipelinePolicy.js';
import { Processor, type ForecastStage } from '../../../src/pipeline/processor.js';
import { parsePolicies } from '../../../src/policy/load.js';
import { ForecastQualityTracker } from '../../../src/predict/forecastQuality.js';
import { jsonMessage } from '../../helpers/fakes.js';
import { TrendForecaster } from '../../helpers/fakeForecaster.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const NOW = T0 + 86_400_000;

function policyYaml(extra = ''): string {
  return `
- name: cpu-predict
  trigger:
    metric: cpu
    threshold: 80
    duration: 2m
    predict: { horizon: 10m, probability: 0.8 }
  leadTime: 3m
  target: { kind: deployment, name: '{{app}}' }
  actions: [{ type: scale, parameters: { replicas: '+2', max: 10 } }]
  cooldown: 30m
${extra}`;
}

function makeProcessor(yaml = policyYaml(), stage: Partial<ForecastStage> = {}) {
  const engine = new ForecastEngine({
    capacity: 100,
    budgetMs: 1_000,
    maxBatch: 64,
    monotonicMs: () => 0,
  });
  const model = new TrendForecaster();
  engine.setForecaster(model);
  const forecast: ForecastStage = {
    engine,
    quality: new ForecastQualityTracker({
      fallbackAfterMs: 10 * MIN,
      windowPoints: 50,
      minPoints: 10,
    }),
    forecastOnly: false,
    inspectSeries: [],
    topK: 5,
    qualityHorizonSteps: 4,
    ...stage,
  };
  const processor = new Processor({
    policies: parsePolicies(yaml, 'test.yaml').map(toPipelinePolicy),
    baseline: BaselineConfigSchema.parse({ warmupSamples: 5 }),
    maxSeries: 100,
    format: 'auto',
    limits: DEFAULT_DECODE_LIMITS,
    forecast,
  });
  return { processor, model, forecast };
}

let offset = 0;
function rec(minute: number, value: number, app = 'web'): SourceRecord {
  return {
    topic: 'm',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: jsonMessage('cpu', { app }, T0 + minute * MIN, value),
    timestampMs: 0,
  };
}

/** 64 flat minutes around 40, then a ramp of +2/min: reaches 80 at minute 84. */
function rampValue(minute: number): number {
  return minute < 64 ? 40 + (minute % 2) : 40 + 2 * (minute - 63);
}

describe('predictive policies in the processor', () => {
  it('fires before the first actual breach, lead time in the evidence, one tensor per round', () => {
    const { processor, model } = makeProcessor();
    const fired: {
      minute: number;
      fire: ReturnType<Processor['processBatch']>['fires'][number];
    }[] = [];
    for (let minute = 0; minute < 100; minute++) {
      const { fires } = processor.processBatch([rec(minute, rampValue(minute))], NOW);
      for (const fire of fires) fired.push({ minute, fire });
    }
    const firstBreachMinute = 84; // 40 + 2·(84 − 63) = 82 > 80 (83 gives 80, not above)
    expect(fired.length).toBeGreaterThanOrEqual(1);
    const first = fired[0];
    expect(first?.fire.actions[0]?.trigger).toBe('predictive');
    expect(first?.minute).toBeLessThan(firstBreachMinute);
    const prediction = first?.fire.actions[0]?.evidence.prediction;
    expect(prediction?.leadTimeMs).toBe(3 * MIN);
    expect(prediction?.probability).toBeGreaterThanOrEqual(0.8);
    // Fired early enough: the predicted breach is at most lead time + one step away ...
    expect(prediction?.etaMs).toBeLessThanOrEqual(4 * MIN);
    // Sized at the policy's risk (probability 0.8: the forecast's p20), under its p90.
    expect(prediction?.forecastAtRisk).toBeGreaterThan(60);
    expect(prediction?.forecastAtRisk).toBeLessThan(prediction?.forecastUpper ?? 0);
    // ... and the actual breach came no sooner than the lead time after the action.
    expect(firstBreachMinute - (first?.minute ?? 0)).toBeGreaterThanOrEqual(3);
    // The reactive path does not fire again for the same breach within the cooldown.
    expect(fired.filter((f) => f.fire.actions[0]?.trigger === 'reactive')).toEqual([]);
    // One inference call per batch that had a full window to forecast (never per message).
    expect(model.calls).toBe(100 - 63);
  });

  it('judges each predictive fire: the ramp breaches after the lead time (in time), a ramp that turns back is a prevented breach', () => {
    const { processor } = makeProcessor();
    const judged: ReturnType<Processor['processBatch']>['judgements'] = [];
    const fires: ReturnType<Processor['processBatch']>['fires'] = [];
    for (let minute = 0; minute < 100; minute++) {
      const result = processor.processBatch([rec(minute, rampValue(minute))], NOW);
      judged.push(...result.judgements);
      fires.push(...result.fires);
    }
    const fireId = fires[0]?.fireId;
    expect(judged).toEqual([
      expect.objectContaining({ verdict: 'in_time', breachAtMs: T0 + 84 * MIN }) as unknown,
    ]);
    expect(judged[0]?.watch.fireId).toBe(fireId);

    // Same start, but the rise stops short of 80 after the fire (within half of the gap it had at
    // the decision, so the rise was real) and falls back: no breach.
    const turned = makeProcessor().processor;
    const turnedJudged = [];
    let firedAt: number | undefined;
    for (let minute = 0; minute < 120; minute++) {
      const value =
        firedAt === undefined ? rampValue(minute) : Math.max(50, 79 - 2 * (minute - firedAt - 1));
      const result = turned.processBatch([rec(minute, value, 'api')], NOW);
      if (result.fires.length > 0 && firedAt === undefined) firedAt = minute;
      turnedJudged.push(...result.judgements);
    }
    expect(firedAt).toBeDefined();
    expect(turnedJudged).toEqual([expect.objectContaining({ verdict: 'prevented' }) as unknown]);
  });

  it('marks fires of a forecast-only policy and keeps the reactive path', () => {
    const { processor } = makeProcessor(
      policyYaml().replace('leadTime: 3m', 'leadTime: 3m\n  forecastOnly: true'),
    );
    const fires = [];
    for (let minute = 0; minute < 100; minute++) {
      fires.push(...processor.processBatch([rec(minute, rampValue(minute))], NOW).fires);
    }
    expect(fires[0]?.forecastOnly).toBe(true);
    expect(fires[0]?.actions[0]?.trigger).toBe('predictive');
  });

  it('falls back to reactive triggers for a family whose forecasts do worse than naive', () => {
    // A model biased by +3σ on a flat, noisy series: always worse than "no change".
    const { processor, forecast, model } = makeProcessor();
    model.bias = 3;
    let fired = 0;
    for (let minute = 0; minute < 200; minute++) {
      const noise = ((minute * 7919) % 13) / 13 - 0.5;
      fired += processor.processBatch([rec(minute, 50 + noise)], NOW).fires.length;
    }
    expect(forecast.quality.stats('cpu')?.ratio).toBeGreaterThan(1);
    expect(forecast.quality.isFallback('cpu')).toBe(true);
    // Then a real breach: only the reactive path may act for this family.
    const fires = [];
    for (let minute = 200; minute < 210; minute++) {
      fires.push(...processor.processBatch([rec(minute, 95)], NOW).fires);
    }
    expect(fired).toBe(0);
    expect(fires.map((f) => f.actions[0]?.trigger)).toEqual(['reactive']);
  });

  it('reports views of the configured and at-risk series', () => {
    const { processor } = makeProcessor(policyYaml(), { inspectSeries: ['cpu{app="db"}'] });
    let report;
    for (let minute = 0; minute < 80; minute++) {
      report = processor.processBatch(
        [rec(minute, rampValue(minute)), rec(minute, 30, 'db')],
        NOW,
      ).forecast;
    }
    expect(report?.list.map((e) => [e.series, e.reason])).toEqual([
      ['cpu{app="db"}', 'configured'],
      ['cpu{app="web"}', 'at_risk'],
    ]);
    const web = report?.views.find((v) => v.series === 'cpu{app="web"}');
    expect(web?.actuals.values).toHaveLength(64);
    expect(web?.forecast?.values).toHaveLength(3);
    expect(web?.policies[0]?.probability).toBeGreaterThan(0.5);
  });

  it('re-expresses a per-replica series in the new replica count when its target scales', () => {
    // Two policies on cpu{app=web}: a proportional one (its metric is per replica) on
    // deployment web, and, for cpu{app=db}, a replica-count one (no unit to re-express).
    const yaml = `
- name: size-web
  trigger: { metric: cpu, threshold: 80, duration: 2m, selector: { app: web } }
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 5m
- name: nudge-db
  trigger:
    metric: cpu
    threshold: 80
    duration: 2m
    selector: { app: db }
    predict: { horizon: 10m, probability: 0.8 }
  target: { kind: deployment, name: db }
  actions: [{ type: scale, parameters: { replicas: '+1', max: 10 } }]
  cooldown: 5m`;
    const { processor, forecast } = makeProcessor(yaml, { inspectSeries: ['cpu{app="web"}'] });
    for (let minute = 0; minute < 70; minute++) {
      processor.processBatch([rec(minute, 60, 'web'), rec(minute, 60, 'db')], NOW);
    }
    const history = forecast.engine.histories;
    const newest = (slot: number) => history?.valueAt(slot, (history.windowSteps ?? 0) - 1);
    const [web, db] = [0, 1];
    expect([newest(web), newest(db)]).toEqual([60, 60]);
    // 4 → 6 replicas after minute 69: the same load is 40 % of each of the 6.
    const afterLast = T0 + 69 * MIN;
    const forecastBefore = forecast.engine.forecastOf(web);
    expect(forecastBefore).toBeDefined();
    processor.replicasChanged({ kind: 'deployment', name: 'web' }, 4, 6, afterLast);
    // The newest forecast (made in the old unit) is re-expressed too, until the next replaces it.
    const forecastAfter = forecast.engine.forecastOf(web);
    expect(forecastAfter?.originValue).toBeCloseTo(40);
    expect(forecastAfter?.values[0]).toBeCloseTo(((forecastBefore?.values[0] ?? NaN) * 4) / 6);
    processor.replicasChanged({ kind: 'deployment', name: 'db' }, 4, 6, afterLast);
    expect(newest(web)).toBeCloseTo(40);
    expect(newest(db)).toBe(60);
    processor.replicasChanged({ kind: 'deployment', name: 'other' }, 6, 3, afterLast);
    expect(newest(web)).toBeCloseTo(40);
  });

  it('re-expresses only the values measured before the change, when the news comes late', () => {
    const yaml = `
- name: size-web
  trigger: { metric: cpu, threshold: 80, duration: 2m, selector: { app: web } }
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 5m`;
    const { processor, forecast } = makeProcessor(yaml, { inspectSeries: ['cpu{app="web"}'] });
    // 2 replicas at 60 % until minute 7; scaled to 3 at minute 7.5; 40 % from minute 8 on.
    for (let minute = 0; minute < 10; minute++) {
      processor.processBatch([rec(minute, minute < 8 ? 60 : 40, 'web')], NOW);
    }
    processor.replicasChanged({ kind: 'deployment', name: 'web' }, 2, 3, T0 + 7.5 * MIN);
    const history = forecast.engine.histories;
    const w = history?.windowSteps ?? 0;
    const lastTen = Array.from({ length: 10 }, (_, k) => history?.valueAt(0, w - 10 + k));
    expect(lastTen.map((v) => Math.round(v ?? NaN))).toEqual(Array(10).fill(40));
  });
});

describe('Processor: forecastAheadPeak on a scale-in', () => {
  // The scale-out watches the series predictively (so it is forecast); the scale-in fires
  // reactively after 70 quiet minutes, when the forecast has a full window.
  const yaml = (leadTime: string) => `
- name: scale-out
  trigger: { metric: cpu, threshold: 80, duration: 0, predict: { horizon: 10m, probability: 0.8 } }
  leadTime: 3m
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 1m
- name: scale-in
  trigger: { metric: cpu, threshold: 63, direction: below, duration: 70m }
  ${leadTime}
  target: { kind: deployment, name: web }
  actions: [{ type: scale, parameters: { targetPerReplica: 70 } }]
  cooldown: 5m`;

  /** Load rising 0.5 % a minute from 20 %: below 63 % throughout, 55 % at minute 70. */
  function fires(policies: string, withForecast = true) {
    const processor = withForecast
      ? makeProcessor(policies).processor
      : new Processor({
          policies: parsePolicies(policies, 'test.yaml').map(toPipelinePolicy),
          baseline: BaselineConfigSchema.parse({ warmupSamples: 5 }),
          maxSeries: 10,
          format: 'auto',
          limits: DEFAULT_DECODE_LIMITS,
        });
    const all = [];
    for (let minute = 0; minute <= 70; minute++) {
      all.push(...processor.processBatch([rec(minute, 20 + 0.5 * minute)], NOW).fires);
    }
    return all;
  }

  it('carries the load forecast until a lead time after the fire', () => {
    const fired = fires(yaml('leadTime: 3m'));
    expect(fired.map((f) => f.policy)).toEqual(['scale-in']);
    const envelope = fired[0]?.actions[0];
    expect(envelope?.evidence.breachPeak).toBe(55);
    // The trend goes on: about 56.5 % by minute 73, above anything the quiet spell saw.
    expect(envelope?.evidence.forecastAheadPeak).toBeGreaterThan(56);
    expect(envelope?.evidence.forecastAheadPeak).toBeLessThan(57);
    expect(ActionEnvelopeSchema.parse(envelope)).toEqual(envelope);
  });

  it('is there for a scale-in that no predictive policy shares a series with', () => {
    const scaleInOnly = yaml('leadTime: 3m').split('- name: scale-in')[1] ?? '';
    const fired = fires(`- name: scale-in${scaleInOnly}`);
    expect(fired.map((f) => f.policy)).toEqual(['scale-in']);
    expect(fired[0]?.actions[0]?.evidence.forecastAheadPeak).toBeGreaterThan(56);
  });

  it('with a reserve, keeps the forecast at level 1 − its probability, above the median', () => {
    const median = fires(yaml('leadTime: 3m'))[0]?.actions[0]?.evidence.forecastAheadPeak;
    const reserved = fires(yaml('leadTime: 3m\n  reserve: { probability: 0.3 }'))[0]?.actions[0]
      ?.evidence.forecastAheadPeak;
    const tail = fires(yaml('leadTime: 3m\n  reserve: { probability: 0.1 }'))[0]?.actions[0]
      ?.evidence.forecastAheadPeak;
    expect(median).toBeDefined();
    // The p70 lies between the median and the p90 the model gives.
    expect(reserved).toBeGreaterThan(median as number);
    expect(tail).toBeGreaterThan(reserved as number);
  });

  it('is left out without a lead time or without a forecast', () => {
    expect(fires(yaml(''))[0]?.actions[0]?.evidence).not.toHaveProperty('forecastAheadPeak');
    const reactive = fires(yaml('leadTime: 3m'), false);
    expect(reactive.map((f) => f.policy)).toEqual(['scale-in']);
    expect(reactive[0]?.actions[0]?.evidence).not.toHaveProperty('forecastAheadPeak');
  });
});

describe('Processor: predictive fires judged in the unit they were decided in', () => {
  // The policy above, sized proportionally: its metric is per replica.
  const yaml = policyYaml().replace("replicas: '+2', max: 10", 'targetPerReplica: 70');

  it('a needed scale-up that worked is in time, not a false alarm', () => {
    // The ramp of the test above; the fire scales 2 → 4 replicas, so from then on the
    // per-replica series shows half the load and never breaches. Judged at 2 replicas, the
    // load did breach: the forecast was right.
    const { processor } = makeProcessor(yaml);
    const judged: ReturnType<Processor['processBatch']>['judgements'] = [];
    let firedAt: number | undefined;
    for (let minute = 0; minute < 100; minute++) {
      const value = rampValue(minute) / (firedAt === undefined ? 1 : 2);
      const result = processor.processBatch([rec(minute, value)], NOW);
      judged.push(...result.judgements);
      if (result.fires.length > 0 && firedAt === undefined) {
        firedAt = minute;
        processor.replicasChanged({ kind: 'deployment', name: 'web' }, 2, 4, T0 + minute * MIN);
      }
    }
    expect(firedAt).toBeDefined();
    expect(judged).toEqual([
      expect.objectContaining({ verdict: 'in_time', breachAtMs: T0 + 84 * MIN }) as unknown,
    ]);
  });
});

describe('Processor: predict.distrust', () => {
  /** Ramps of +2/min from 40 that fall back to 40 as soon as the policy fires: false alarms. */
  function cryWolf(distrust: string, second = '') {
    const yaml =
      policyYaml()
        .replace('probability: 0.8 }', `probability: 0.5${distrust} }`)
        .replace('cooldown: 30m', 'cooldown: 5m') + second;
    // Never falls back to reactive: the falls make this forecast worse than naive.
    const quality = new ForecastQualityTracker({
      fallbackAfterMs: Number.MAX_SAFE_INTEGER,
      windowPoints: 50,
      minPoints: 10,
    });
    const { processor } = makeProcessor(yaml, { quality, inspectSeries: ['cpu{app="wolf"}'] });
    const fires: { fire: ReturnType<Processor['processBatch']>['fires'][number]; step: number }[] =
      [];
    let actsAt: (number | null)[] | undefined;
    const verdicts: string[] = [];
    let rampStart = 64;
    let fellAt: number | undefined;
    for (let minute = 0; minute < 600; minute++) {
      const value =
        minute < 64 ? 40 + (minute % 2) : fellAt === undefined ? 40 + 2 * (minute - rampStart) : 40;
      const result = processor.processBatch([rec(minute, value, 'wolf')], NOW);
      for (const fire of result.fires) fires.push({ fire, step: minute - rampStart });
      verdicts.push(...result.judgements.map((j) => j.verdict));
      actsAt = result.forecast?.views[0]?.policies.map((p) => p.actsAtProbability);
      if (fellAt === undefined && result.fires.length > 0) fellAt = minute;
      // Back to a new ramp once the fall has been judged (horizon 10m) and forgotten.
      if (fellAt !== undefined && minute - fellAt >= 20) {
        fellAt = undefined;
        rampStart = minute + 1;
      }
    }
    return { fires, verdicts, actsAt };
  }

  it('stops acting ahead on a series whose fires keep proving unneeded; the same fires until then', () => {
    const trigger = (f: { fire: { actions: readonly { trigger: string }[] } }) =>
      f.fire.actions[0]?.trigger;
    const fixed = cryWolf('');
    const learnt = cryWolf(', distrust: {}');
    // Without it, every ramp fires ahead (at P ≈ 0.96–0.99) and every fire is a false alarm.
    expect(fixed.fires.map(trigger)).toEqual(fixed.fires.map(() => 'predictive'));
    expect(fixed.fires.length).toBeGreaterThan(10);
    expect(new Set(fixed.verdicts)).toEqual(new Set(['false_alarm']));
    // With it, the first fires are the same (no verdict yet, or too few to be "far" off) ...
    const predictive = learnt.fires.filter((f) => trigger(f) === 'predictive');
    expect(predictive.length).toBeGreaterThanOrEqual(2);
    expect(predictive.map((f) => f.step)).toEqual(
      fixed.fires.slice(0, predictive.length).map((f) => f.step),
    );
    // ... then the threshold reaches its ceiling (0.5 × 2 = 1) and the later ramps are left to
    // the reactive path, which acts once 80 is breached for 2 minutes.
    expect(predictive.length).toBeLessThan(fixed.fires.length / 2);
    const later = learnt.fires.slice(predictive.length);
    expect(later.length).toBeGreaterThan(0);
    expect(later.map(trigger)).toEqual(later.map(() => 'reactive'));
    // The inspection view (and healcast_predict_threshold) shows why: it acts at 1 now, not 0.5.
    expect(fixed.actsAt).toEqual([0.5]);
    expect(learnt.actsAt).toEqual([1]);
  });

  it('learns per policy: a second predictive policy on the same series keeps its probability', () => {
    // Same metric and series, its own target (its own cooldown), no distrust.
    const second = `
- name: cpu-predict-other
  trigger: { metric: cpu, threshold: 80, duration: 2m, predict: { horizon: 10m, probability: 0.5 } }
  leadTime: 3m
  target: { kind: deployment, name: other }
  actions: [{ type: scale, parameters: { replicas: '+2', max: 10 } }]
  cooldown: 5m
`;
    const { fires, actsAt } = cryWolf(', distrust: {}', second);
    expect(actsAt).toEqual([1, 0.5]);
    // The other policy kept acting ahead on every ramp.
    const other = fires.filter((f) => f.fire.policy === 'cpu-predict-other');
    expect(other.length).toBeGreaterThan(10);
    expect(other.every((f) => f.fire.actions[0]?.trigger === 'predictive')).toBe(true);
  });
});
