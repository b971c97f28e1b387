import {
  pointsOver,
  TARGET_COST_RATIO,
  TARGET_VIOLATION_RATIO,
  type StrategySummary,
  type TargetCheck,
} from '../backtest/report.js';

/** What the scoreboard needs of one backtest's report.json. */
export interface BacktestReportView {
  readonly trace: { readonly name: string; readonly steps: number };
  readonly target: TargetCheck;
  readonly strategies: readonly Pick<
    StrategySummary,
    'id' | 'violationMinutes' | 'replicaMinutes'
  >[];
}

/** `a` as a percentage of `b`, or `–` when `b` is 0 (no violations to compare with). */
function percentOf(a: number, b: number): string {
  return percent(b > 0 ? a / b : null);
}

/** `met`, or which bound was missed and by how many points. */
function compactVerdict(target: TargetCheck): string {
  if (target.met) return 'met';
  const misses: string[] = [];
  if (!target.violationsOk) {
    misses.push(
      target.violationRatio === null
        ? 'violations where the HPA had none'
        : `violations by ${pointsOver(target.violationRatio, TARGET_VIOLATION_RATIO)} points`,
    );
  }
  if (!target.costOk) {
    misses.push(`cost by ${pointsOver(target.costRatio, TARGET_COST_RATIO)} points`);
  }
  return `missed: ${misses.join(', ')}`;
}

/** A ratio as a percentage, or `–` when there is none (the HPA had no violations). */
function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${(100 * ratio).toFixed(1)} %`;
}

/**
 * The scoreboard's out-of-sample check: the default policies on traces they were not chosen on
 * (and the model not trained on), one row per trace, with the target verdict, and a
 * count of the traces where it holds. Only traces where the HPA had violations can show the
 * halving; the count says how many those are.
 */
export function outOfSampleMarkdown(reports: readonly BacktestReportView[]): string {
  const lines = [
    '| trace | steps | HPA violation (min) | predictive: violations, % of HPA | predictive: cost, % of HPA | reactive-only: violations / cost, % of HPA | target |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  let met = 0;
  let withViolations = 0;
  let metWithViolations = 0;
  for (const report of reports) {
    const by = (id: string) => report.strategies.find((s) => s.id === id);
    const hpa = by('hpa');
    const reactive = by('healcast_reactive');
    if (hpa === undefined || reactive === undefined) {
      throw new Error(`${report.trace.name}: report without the hpa and healcast strategies`);
    }
    if (report.target.met) met++;
    if (hpa.violationMinutes > 0) {
      withViolations++;
      if (report.target.met) metWithViolations++;
    }
    const name = report.trace.name.replace(/:value$/, '');
    lines.push(
      `| ${name} | ${report.trace.steps} | ${hpa.violationMinutes.toFixed(1)} | ` +
        `${percent(report.target.violationRatio)} | ${percent(report.target.costRatio)} | ` +
        `${percentOf(reactive.violationMinutes, hpa.violationMinutes)} / ${percentOf(reactive.replicaMinutes, hpa.replicaMinutes)} | ` +
        `${compactVerdict(report.target)} |`,
    );
  }
  lines.push(
    '',
    `Target met on ${met} of ${reports.length} traces; on ${metWithViolations} of the ${withViolations} where the HPA had any violation.`,
  );
  return lines.join('\n');
}
