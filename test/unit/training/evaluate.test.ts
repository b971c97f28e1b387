import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_SPEC, type FeatureSpec } from '../../../src/forecast/features.js';
import type { WindowMeta } from '../../../src/training/dataset.js';
import {
  evaluateBreaches,
  evaluateMethod,
  maseScale,
  medianQuantile,
  pinballLoss,
  promotionDecision,
  stepForMinutes,
  upperQuantile,
} from '../../../src/training/evaluate.js';
import { renderMarkdown, targetChecks, type TrainingReport } from '../../../src/training/report.js';
import type { Series } from '../../../src/training/traces.js';

const spec: FeatureSpec = { ...DEFAULT_FEATURE_SPEC, windowSteps: 4, horizonSteps: 2 };

function series(values: number[], name = 's', stepMs = 300_000): Series {
  return {
    name,
    source: `${name}.csv`,
    segment: 0,
    stepMs,
    startMs: 0,
    values: Float64Array.from(values),
    filledSteps: 0,
  };
}

const unit = { mean: 0, scale: 1, last: 0 };

describe('MASE, pinball and coverage', () => {
  it('scales by the training part’s mean absolute one-step change', () => {
    expect(maseScale([1, 3, 2, 6, 100], 4)).toBeCloseTo((2 + 1 + 4) / 3);
    expect(maseScale([5, 5, 5, 9], 3)).toBeNaN();
  });

  it('pinball loss is asymmetric by the quantile level', () => {
    expect(pinballLoss(10, 8, 0.9)).toBeCloseTo(1.8);
    expect(pinballLoss(8, 10, 0.9)).toBeCloseTo(0.2);
    expect(pinballLoss(8, 10, 0.5)).toBe(1);
  });

  it('scores forecasts per step on hand-built windows', () => {
    // Training part [0..4): changes 2, 2, 2 → MASE scale 2.
    const s = series([0, 2, 4, 6, 10, 10, 12, 14, 16]);
    const windows: WindowMeta[] = [
      { series: 0, end: 5, scale: { ...unit, scale: 2 } }, // actuals 12, 14
      { series: 0, end: 6, scale: { ...unit, scale: 2 } }, // actuals 14, 16
    ];
    const point = Float64Array.from([11, 14, 14, 20]);
    // [h][q] for q = 0.1, 0.5, 0.9
    const quantiles = Float64Array.from([
      ...[10, 11, 13],
      ...[12, 14, 13], // upper below the actual 14: not covered
      ...[13, 14, 15],
      ...[18, 20, 22],
    ]);
    const e = evaluateMethod([s], [4], windows, { name: 'm', point, quantiles }, spec);
    const scores = e.bySeries['s'];
    expect(scores?.masePerStep).toEqual([(1 / 2 + 0 / 2) / 2, (0 / 2 + 4 / 2) / 2]);
    expect(scores?.maseMean).toBeCloseTo((0.25 + 1) / 2);
    expect(scores?.upperCoverage).toBe(3 / 4);
    // Pinball in units of σ = 2, averaged over 2 windows × 2 steps × 3 quantiles.
    let total = 0;
    const actual = [12, 14, 14, 16];
    actual.forEach((y, i) => {
      [0.1, 0.5, 0.9].forEach((tau, q) => {
        total += pinballLoss(y / 2, (quantiles[i * 3 + q] as number) / 2, tau);
      });
    });
    expect(scores?.pinball).toBeCloseTo(total / 12);
    expect(scores?.windows).toBe(2);
    // 5-minute step: 5 min is step 1, 15 and 30 min are beyond the 2-step horizon.
    expect(scores?.maseAtMinutes).toEqual({ '5m': 0.25, '15m': null, '30m': null });
    expect(e.overall.masePerStep).toEqual(scores?.masePerStep);
    expect(e.byTrace['s.csv']?.maseMean).toBeCloseTo(0.625);
  });

  it('weighs series equally overall, whatever their window counts', () => {
    const a = series([0, 1, 2, 3, 4, 5, 6, 7], 'a');
    const b = series([0, 1, 2, 3, 4, 5, 6, 7], 'b');
    const windows: WindowMeta[] = [
      { series: 0, end: 4, scale: unit },
      { series: 0, end: 5, scale: unit },
      { series: 1, end: 4, scale: unit },
    ];
    // a: perfect; b: off by 2 at both steps (scale 1).
    const point = Float64Array.from([5, 6, 6, 7, 3, 4]);
    const q = new Float64Array(18);
    const e = evaluateMethod([a, b], [4, 4], windows, { name: 'm', point, quantiles: q }, spec);
    expect(e.bySeries['a']?.masePerStep).toEqual([0, 0]);
    expect(e.bySeries['b']?.masePerStep).toEqual([2, 2]);
    expect(e.overall.masePerStep).toEqual([1, 1]);
  });

  it('maps minutes to steps only where they land on the grid', () => {
    expect(stepForMinutes(15, 60_000, 16)).toBe(15);
    expect(stepForMinutes(15, 300_000, 16)).toBe(3);
    expect(stepForMinutes(15, 30_000, 16)).toBeUndefined(); // 30 steps > horizon
    expect(stepForMinutes(5, 120_000, 16)).toBeUndefined(); // 2.5 steps
  });

  it('picks the median and the upper quantile out of the step-major layout', () => {
    const q = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(medianQuantile(q, 2, spec))).toEqual([2, 5, 8, 11]);
    expect(Array.from(upperQuantile(q, 2, spec))).toEqual([3, 6, 9, 12]);
  });
});

describe('breaches', () => {
  // Training part: 0..99 → p95 = 94.05. Validation values around the threshold.
  const train = Array.from({ length: 100 }, (_, i) => i);
  const valid = [50, 50, 50, 50, 50, 50, 99, 99, 50, 50, 50, 50, 50, 50, 99, 50, 50];
  const s = series([...train, ...valid], 'b', 60_000);
  const horizon = 3;
  const ends = Array.from({ length: valid.length - horizon }, (_, i) => 100 + i); // 100..113
  const windows: WindowMeta[] = ends.map((end) => ({ series: 0, end, scale: unit }));

  function upperWith(alarmAt: number[]): Float64Array {
    const upper = new Float64Array(windows.length * horizon).fill(60);
    windows.forEach((w, k) => {
      if (alarmAt.includes(w.end)) upper[k * horizon + horizon - 1] = 200;
    });
    return upper;
  }

  it('counts up-crossings, caught ones, alarms, precision and lead time', () => {
    // Up-crossings at 106 and 114. Alarms at 104 (lead 2), 110 (false: no crossing in 111..113),
    // 113 (lead 1). An alarm asked for at 106 is ignored: the actual there is already above.
    const e = evaluateBreaches([s], [100], windows, upperWith([104, 106, 110, 113]), horizon, [0.95]);
    expect(e.overall).toEqual([
      {
        level: 'p95',
        precision: 2 / 3,
        recall: 1,
        medianLeadMinutes: 1.5,
        breaches: 2,
        caught: 2,
        alarms: 3,
        trueAlarms: 2,
      },
    ]);
    expect(e.byTrace['b.csv']).toEqual(e.overall);
  });

  it('misses breaches without an alarm in the horizon before them', () => {
    // An alarm at 101 is more than 3 steps before the crossing at 106.
    const e = evaluateBreaches([s], [100], windows, upperWith([101]), horizon, [0.95]);
    expect(e.overall[0]).toMatchObject({ breaches: 2, caught: 0, recall: 0, alarms: 1, precision: 0 });
    expect(e.overall[0]?.medianLeadMinutes).toBeNull();
    const none = evaluateBreaches([s], [100], windows, upperWith([]), horizon, [0.95]);
    expect(none.overall[0]).toMatchObject({ alarms: 0, precision: null, recall: 0 });
  });
});

describe('promotion', () => {
  it('promotes only a model that beats naive, unless forced', () => {
    expect(promotionDecision(0.9, 1, false)).toMatchObject({ beatsNaive: true, promote: true });
    expect(promotionDecision(1, 1, false)).toMatchObject({ beatsNaive: false, promote: false });
    expect(promotionDecision(1.2, 1, false).reason).toMatch(/^not promoted/);
    expect(promotionDecision(1.2, 1, true)).toMatchObject({ beatsNaive: false, promote: true });
    expect(promotionDecision(Number.NaN, 1, false).promote).toBe(false);
  });
});

describe('report', () => {
  const scores = (m15: number | null, mean: number) => ({
    masePerStep: [mean, mean],
    maseMean: mean,
    maseAtMinutes: { '5m': mean, '15m': m15, '30m': null },
    pinball: 0.2,
    upperCoverage: 0.9,
    windows: 10,
  });
  const evaluation = {
    model: { name: 'model', overall: scores(0.8, 0.8), byTrace: { 'x.csv': scores(0.8, 0.8), 'y.csv': scores(null, 1) }, bySeries: {} },
    naive: { name: 'naive', overall: scores(1, 1), byTrace: { 'x.csv': scores(1, 1), 'y.csv': scores(null, 1) }, bySeries: {} },
    holt_winters: { name: 'holt_winters', overall: scores(0.85, 0.9), byTrace: { 'x.csv': scores(0.85, 0.9), 'y.csv': scores(null, 1) }, bySeries: {} },
  };

  it('checks the 15-minute target against the best baseline per trace and overall', () => {
    const checks = targetChecks(evaluation);
    expect(checks.map((c) => [c.group, c.bestBaseline, c.met])).toEqual([
      ['x.csv', 'holt_winters', false],
      ['y.csv', null, null],
      ['overall', 'holt_winters', false],
    ]);
    expect(checks[0]?.ratio).toBeCloseTo(0.8 / 0.85);
  });

  it('renders every section', () => {
    const report: TrainingReport = {
      version: 'v1',
      createdAt: '2026-01-01T00:00:00Z',
      codeVersion: '0.1.0',
      config: { horizonSteps: 2, quantiles: [0.1, 0.5, 0.9] },
      backend: 'cpu',
      seconds: { train: 1, total: 2 },
      modelBytes: 2048,
      data: { traces: [], notes: ['a note'], fingerprint: 'sha256:x', trainWindows: 1, trainWindowsAvailable: 2, earlyStoppingWindows: 0, validationWindows: 1 },
      epochs: [{ epoch: 1, loss: 0.3, earlyStoppingLoss: null }],
      bestEpoch: null,
      evaluation,
      breaches: {},
      baselineDetails: { naive: { s: ['last value'] } },
      targets: targetChecks(evaluation),
      decision: promotionDecision(0.8, 1, false),
      promoted: true,
    };
    const md = renderMarkdown(report);
    for (const heading of ['# Training report v1', '## Data', '## Training', '## Evaluation', '## 15-minute target', '## Trace x', '## Breaches', '## Promotion']) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('| model | 0.800 | 0.800 | 0.800 | – | 0.2000 | 90.0% |');
  });
});
