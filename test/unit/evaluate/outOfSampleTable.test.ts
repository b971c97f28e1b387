import { describe, expect, it } from 'vitest';
import {
  outOfSampleMarkdown,
  type BacktestReportView,
} from '../../../src/evaluate/scoreboard/outOfSampleTable.js';

function report(
  name: string,
  hpa: [number, number],
  predictive: [number, number],
  target: BacktestReportView['target'],
): BacktestReportView {
  return {
    trace: { name: `${name}:value`, steps: 4032 },
    target,
    strategies: [
      { id: 'healcast_predictive', violationMinutes: predictive[0], replicaMinutes: predictive[1] },
      { id: 'healcast_reactive', violationMinutes: hpa[0], replicaMinutes: hpa[1] },
      { id: 'hpa', violationMinutes: hpa[0], replicaMinutes: hpa[1] },
    ],
  };
}

const target = (
  violationRatio: number | null,
  costRatio: number,
  violationsOk: boolean,
  costOk: boolean,
): BacktestReportView['target'] => ({
  violationRatio,
  costRatio,
  violationsOk,
  costOk,
  met: violationsOk && costOk,
  verdict: '…',
});

describe('outOfSampleMarkdown', () => {
  it('one row per trace with ratios to the HPA, the bound missed and by how much, and the counts', () => {
    const md = outOfSampleMarkdown([
      report('quiet', [0, 1000], [0, 1010], target(null, 1.01, true, true)),
      report('spiky', [100, 1000], [90, 1100], target(0.9, 1.1, false, false)),
      report('good', [100, 1000], [40, 1040], target(0.4, 1.04, true, true)),
    ]);
    expect(md).toContain('| quiet | 4032 | 0.0 | – | 101.0 % | – / 100.0 % | met |');
    expect(md).toContain(
      '| spiky | 4032 | 100.0 | 90.0 % | 110.0 % | 100.0 % / 100.0 % | missed: violations by 40.0 points, cost by 5.0 points |',
    );
    expect(md).toContain(
      'Target met on 2 of 3 traces; on 1 of the 2 where the HPA had any violation.',
    );
  });

  it('says when healcast has violations where the HPA had none', () => {
    const md = outOfSampleMarkdown([
      report('worse', [0, 1000], [5, 1000], target(null, 1, false, true)),
    ]);
    expect(md).toContain('missed: violations where the HPA had none |');
  });
});
