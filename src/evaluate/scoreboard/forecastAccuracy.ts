import { TARGET_RATIO, type TrainingReport } from '../../training/report.js';

const HORIZONS = ['5m', '15m', '30m'] as const;

function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toFixed(digits);
}

/**
 * The scoreboard's forecast section: MASE per horizon of the current model against the
 * baselines, from the training report of that model (the evaluation `npm run train` ran on the
 * validation tail of the shared traces), with the 15-minute ratio against the target.
 */
export function forecastAccuracyMarkdown(report: TrainingReport): string {
  const methods = Object.entries(report.evaluation);
  const rows = methods.map(([name, evaluation]) => {
    const at = evaluation.overall.maseAtMinutes;
    return `| ${name} | ${HORIZONS.map((h) => fmt(at[h])).join(' | ')} | ${fmt(evaluation.overall.maseMean)} | ${fmt(evaluation.overall.pinball)} | ${fmt(evaluation.overall.upperCoverage === null ? null : evaluation.overall.upperCoverage * 100, 1)} % |`;
  });
  // The training run already checked the target (training/report.ts targetChecks).
  const overall = report.targets.find((t) => t.group === 'overall');
  let verdict = 'n/a';
  if (overall?.ratio !== null && overall?.ratio !== undefined) {
    const { ratio, bestBaseline } = overall;
    verdict = overall.met
      ? `**${ratio.toFixed(3)}** × the best baseline (${bestBaseline}) — target ≤ ${TARGET_RATIO} met`
      : `**${ratio.toFixed(3)}** × the best baseline (${bestBaseline}) — target ≤ ${TARGET_RATIO} **missed by ${(ratio - TARGET_RATIO).toFixed(3)}**`;
  }
  return [
    `Model \`${report.version}\` (trained ${report.createdAt.slice(0, 10)}, backend \`${report.backend}\`), validation tail of the shared traces. MASE: mean absolute error over each series' in-sample one-step naive error (lower is better).`,
    '',
    '| method | MASE 5 min | MASE 15 min | MASE 30 min | mean MASE (all steps) | pinball (σ units) | p90 coverage |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `At 15 minutes the model is ${verdict}.`,
  ].join('\n');
}
