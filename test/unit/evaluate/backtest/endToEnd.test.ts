import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../../../src/evaluate/backtest/run.js';
import {
  DEFAULT_SIMULATION,
  SimulationSettingsSchema,
} from '../../../../src/evaluate/backtest/settings.js';
import { demandOf } from '../../../../src/evaluate/backtest/simulate.js';
import { markdownTable } from '../../../../src/evaluate/backtest/report.js';
import { parsePolicies } from '../../../../src/policy/load.js';
import { parseCsvTrace } from '../../../../src/training/traces.js';
import { TrendForecaster } from '../../../helpers/fakeForecaster.js';

const FIXTURE = 'test/fixtures/nasa_http_1995-07-13_flash_crowd.csv';
const POLICY = 'src/demo/backtest/requests.policy.yaml';

describe('backtest end to end (NASA-HTTP flash crowd, 540 minutes)', () => {
  it('replays four strategies on one trace and reports comparable figures', () => {
    const settings = SimulationSettingsSchema.parse(DEFAULT_SIMULATION.requests);
    const parsed = parseCsvTrace(readFileSync(FIXTURE, 'utf8'), FIXTURE, {
      minRows: 2,
      fill: 'zero',
    });
    const series = parsed.series[0];
    if (series === undefined) throw new Error('fixture has no series');
    const trace = {
      name: series.name,
      stepMs: series.stepMs,
      timesMs: Float64Array.from(series.values, (_, i) => series.startMs + i * series.stepMs),
      demand: Float64Array.from(series.values, (v) => demandOf(v, settings)),
    };
    const progress: number[] = [];
    const result = runBacktest({
      trace,
      settings,
      policies: parsePolicies(readFileSync(POLICY, 'utf8'), POLICY),
      forecaster: new TrendForecaster(),
      onProgress: (done) => progress.push(done),
    });
    expect(result.summaries.map((s) => s.id)).toEqual([
      'healcast_predictive',
      'healcast_reactive',
      'hpa',
      'holt_winters',
    ]);
    expect(progress.at(-1)).toBe(540);
    for (const s of result.summaries) {
      // Every strategy scaled out for the launch (the trace rises from ~30 to ~300 requests/min).
      expect(s.scaleUps).toBeGreaterThan(0);
      expect(
        Math.max(...(result.runs.find((r) => r.id === s.id)?.specReplicas ?? [])),
      ).toBeGreaterThan(8);
      // Cost is at least the minimum replica count for the whole trace, at most the maximum.
      expect(s.replicaMinutes).toBeGreaterThanOrEqual(540);
      expect(s.replicaMinutes).toBeLessThanOrEqual(540 * settings.maxReplicas);
      expect(s.violationMinutes).toBeLessThan(540);
    }
    expect(result.target.costRatio).toBeGreaterThan(0);
    expect(markdownTable(result.summaries).split('\n')).toHaveLength(6);
  });
});
