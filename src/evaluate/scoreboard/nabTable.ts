import { NabProfileNameSchema, type NabOptimum, type NabProfileName } from '../nab/index.js';

/** Published full-corpus NAB scores (standard / reward_low_FP / reward_low_FN), for reference. */
export const NAB_REFERENCE = [
  { name: 'ARTime (best published)', scores: [74.9, 65.1, 80.4] },
  { name: 'Numenta HTM', scores: [70.5, 62.6, 75.2] },
  { name: 'Windowed Gaussian', scores: [39.6, 20.9, 47.4] },
  { name: 'plain EWMA z-score (issue #5)', scores: [29, null, null] },
  { name: 'random', scores: [11.0, null, null] },
] as const;

/** The issue #5 target on the standard profile. */
export const NAB_TARGET_STANDARD = 75;

/** What the table shows of each profile's optimum. */
type NabProfileScore = Pick<NabOptimum, 'normalised' | 'threshold' | 'tp' | 'fp' | 'fn'>;

/** What the scoreboard needs of `healcast nab`'s scores.json. */
export interface NabScores {
  readonly files: number;
  readonly rows: number;
  readonly model: { readonly version: string | null; readonly note: string | null };
  readonly profiles: Readonly<Record<NabProfileName, NabProfileScore>>;
}

/** The scoreboard's NAB section: healcast per profile, the references, the target verdict. */
export function nabMarkdown(report: NabScores): string {
  const rows = NabProfileNameSchema.options.map((name) => {
    const p = report.profiles[name];
    return `| ${name} | **${p.normalised.toFixed(1)}** | ${p.threshold.toFixed(4)} | ${p.tp} | ${p.fp} | ${p.fn} |`;
  });
  const standard = report.profiles.standard.normalised;
  const verdict =
    standard >= NAB_TARGET_STANDARD
      ? `Target (standard > ${NAB_TARGET_STANDARD}): **met** (${standard.toFixed(1)}).`
      : `Target (standard > ${NAB_TARGET_STANDARD}): **missed by ${(NAB_TARGET_STANDARD - standard).toFixed(1)} points** (${standard.toFixed(1)}).`;
  const references = NAB_REFERENCE.map(
    (r) => `| ${r.name} | ${r.scores.map((s) => (s === null ? '–' : s.toFixed(1))).join(' | ')} |`,
  );
  return [
    `${report.files} files, ${report.rows} rows (the 28-file subset in ../shared/data/nab); forecast band from model ${report.model.version ?? `none (${report.model.note ?? ''})`}. TP/FN count windows, FP counts detections.`,
    '',
    '| profile | healcast | threshold | TP | FP | FN |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    verdict,
    '',
    'Published scores on the **full** 58-file corpus, for reference (not the same files: the subset has 11 artificial files, 5 without anomalies):',
    '',
    '| detector | standard | reward_low_FP | reward_low_FN |',
    '|---|---|---|---|',
    ...references,
  ].join('\n');
}
