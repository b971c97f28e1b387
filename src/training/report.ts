import type { BreachEvaluation, MethodEvaluation, PromotionDecision, Scores } from './evaluate.js';
import { MINUTE_MARKS } from './evaluate.js';
import { traceStem } from './traces.js';

/**
 * The training report: what was trained on what, how training went, and how the model
 * compares with the baselines — rendered as Markdown for people and JSON for tools and
 * notebooks. Pure: the CLI writes the files (`training/reports/<version>.md|.json` and
 * `training/latest.md|.json`).
 */

/** One series of the data summary. */
export interface DataSeriesSummary {
  readonly name: string;
  readonly segments: number;
  readonly rows: number;
  readonly stepMs: number;
  readonly filledSteps: number;
  readonly trainWindows: number;
  readonly validationWindows: number;
}

/** One trace (file or topic) of the data summary. */
export interface DataTraceSummary {
  readonly source: string;
  readonly series: DataSeriesSummary[];
}

/** The 15-minute target of one group: model vs the best baseline. */
export interface TargetCheck {
  readonly group: string;
  readonly model: number | null;
  readonly bestBaseline: string | null;
  readonly bestBaselineValue: number | null;
  /** model / best baseline (below 0.9 meets the target). */
  readonly ratio: number | null;
  readonly met: boolean | null;
}

/** Everything a report says. */
export interface TrainingReport {
  readonly version: string;
  readonly createdAt: string;
  readonly codeVersion: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly backend: string;
  /** Wall-clock seconds by phase (load, baselines, train, evaluate, total). */
  readonly seconds: Readonly<Record<string, number>>;
  readonly modelBytes: number;
  readonly data: {
    readonly traces: DataTraceSummary[];
    readonly notes: string[];
    readonly fingerprint: string;
    readonly trainWindows: number;
    readonly trainWindowsAvailable: number;
    readonly earlyStoppingWindows: number;
    readonly validationWindows: number;
  };
  readonly epochs: { epoch: number; loss: number; earlyStoppingLoss: number | null }[];
  readonly bestEpoch: number | null;
  /** By method name: `model` first, then the baselines. */
  readonly evaluation: Readonly<Record<string, MethodEvaluation>>;
  readonly breaches: Readonly<Record<string, BreachEvaluation>>;
  /** Baselines' fitted forms per series segment (e.g. Holt-Winters constants). */
  readonly baselineDetails: Readonly<Record<string, Record<string, string[]>>>;
  readonly targets: TargetCheck[];
  readonly decision: PromotionDecision;
  readonly promoted: boolean;
}

/** The ratio to the best baseline a model must reach at 15 minutes (10% better). */
export const TARGET_RATIO = 0.9;

/**
 * Checks the 15-minute target per trace and overall: the model's MASE 15 minutes ahead at most
 * {@link TARGET_RATIO} × the best baseline's. Groups whose step does not land on 15 minutes
 * within the horizon have no verdict (null).
 */
export function targetChecks(
  evaluation: Readonly<Record<string, MethodEvaluation>>,
  modelName = 'model',
): TargetCheck[] {
  const model = evaluation[modelName];
  if (!model) return [];
  const baselines = Object.values(evaluation).filter((e) => e.name !== modelName);
  const check = (group: string, pick: (e: MethodEvaluation) => Scores | undefined): TargetCheck => {
    const m = pick(model)?.maseAtMinutes['15m'] ?? null;
    let best: { name: string; value: number } | undefined;
    for (const b of baselines) {
      const v = pick(b)?.maseAtMinutes['15m'];
      if (v !== undefined && v !== null && (best === undefined || v < best.value)) {
        best = { name: b.name, value: v };
      }
    }
    const ratio = m !== null && best !== undefined ? m / best.value : null;
    return {
      group,
      model: m,
      bestBaseline: best?.name ?? null,
      bestBaselineValue: best?.value ?? null,
      ratio,
      met: ratio === null ? null : ratio <= TARGET_RATIO,
    };
  };
  return [
    ...Object.keys(model.byTrace).map((source) => check(source, (e) => e.byTrace[source])),
    check('overall', (e) => e.overall),
  ];
}

function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function stepLabel(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

function scoresRows(evaluation: Readonly<Record<string, MethodEvaluation>>, pick: (e: MethodEvaluation) => Scores | undefined): string[][] {
  return Object.values(evaluation).map((e) => {
    const s = pick(e);
    return [
      e.name,
      num(s?.maseMean),
      ...MINUTE_MARKS.map((m) => num(s?.maseAtMinutes[`${m}m`])),
      num(s?.pinball, 4),
      pct(s?.upperCoverage),
    ];
  });
}

function perStepRows(evaluation: Readonly<Record<string, MethodEvaluation>>, pick: (e: MethodEvaluation) => Scores | undefined): string[][] {
  return Object.values(evaluation).map((e) => [
    e.name,
    ...(pick(e)?.masePerStep ?? []).map((v) => num(v, 2)),
  ]);
}

/** Renders the report as Markdown. */
export function renderMarkdown(r: TrainingReport): string {
  const horizon = Number(r.config['horizonSteps'] ?? 0);
  const upper = (r.config['quantiles'] as number[] | undefined)?.at(-1);
  const scoreHeader = [
    'method',
    'MASE mean',
    ...MINUTE_MARKS.map((m) => `MASE ${m} min`),
    'pinball',
    `coverage p${upper === undefined ? '?' : Math.round(upper * 100)}`,
  ];
  const stepHeader = ['method', ...Array.from({ length: horizon }, (_, h) => `h${h + 1}`)];
  const out: string[] = [];
  out.push(`# Training report ${r.version}`);
  out.push('');
  out.push(
    [
      `- **Decision:** ${r.promoted ? 'promoted to current' : 'not promoted'} — ${r.decision.reason}`,
      `- Created ${r.createdAt} by healcast ${r.codeVersion}; backend \`${r.backend}\``,
      `- Time: ${Object.entries(r.seconds)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')}`,
      `- Model size: ${(r.modelBytes / 1024).toFixed(1)} KiB; best epoch ${r.bestEpoch ?? '–'} of ${r.epochs.length}`,
      `- Windows: ${r.data.trainWindows} training (of ${r.data.trainWindowsAvailable} available), ${r.data.earlyStoppingWindows} early-stopping, ${r.data.validationWindows} validation`,
      `- Data fingerprint: \`${r.data.fingerprint}\``,
    ].join('\n'),
  );
  out.push('');
  out.push('MASE: mean absolute error scaled by each series’ in-sample one-step naive error (training part); below 1 beats one-step naive. Series count equally within a trace and overall. Pinball loss in units of each window’s σ. Coverage: share of actuals at or below the upper quantile.');
  out.push('');

  out.push('## Data');
  out.push('');
  out.push(
    table(
      ['trace', 'series', 'segments', 'rows', 'step', 'filled', 'train windows', 'validation windows'],
      r.data.traces.flatMap((t) =>
        t.series.map((s) => [
          traceStem(t.source),
          s.name,
          String(s.segments),
          String(s.rows),
          stepLabel(s.stepMs),
          String(s.filledSteps),
          String(s.trainWindows),
          String(s.validationWindows),
        ]),
      ),
    ),
  );
  if (r.data.notes.length > 0) {
    out.push('');
    out.push(r.data.notes.map((n) => `- ${n}`).join('\n'));
  }
  out.push('');

  out.push('## Configuration');
  out.push('');
  out.push(
    Object.entries(r.config)
      .map(([k, v]) => `- ${k}: \`${JSON.stringify(v)}\``)
      .join('\n'),
  );
  out.push('');

  out.push('## Training');
  out.push('');
  out.push(
    table(
      ['epoch', 'training loss', 'early-stopping loss'],
      r.epochs.map((e) => [
        `${e.epoch}${e.epoch === r.bestEpoch ? ' (kept)' : ''}`,
        num(e.loss, 5),
        num(e.earlyStoppingLoss, 5),
      ]),
    ),
  );
  out.push('');

  out.push('## Evaluation on validation (overall)');
  out.push('');
  out.push(table(scoreHeader, scoresRows(r.evaluation, (e) => e.overall)));
  out.push('');
  out.push('MASE per horizon step (each series at its own step):');
  out.push('');
  out.push(table(stepHeader, perStepRows(r.evaluation, (e) => e.overall)));
  out.push('');

  out.push('## 15-minute target (model ≤ 0.9 × best baseline)');
  out.push('');
  out.push(
    table(
      ['group', 'model MASE 15 min', 'best baseline', 'its MASE', 'ratio', 'met'],
      r.targets.map((t) => [
        t.group === 'overall' ? 'overall' : traceStem(t.group),
        num(t.model),
        t.bestBaseline ?? '–',
        num(t.bestBaselineValue),
        num(t.ratio),
        t.met === null ? 'n/a (15 min not on the step grid within the horizon)' : t.met ? 'yes' : 'no',
      ]),
    ),
  );
  out.push('');

  const model = r.evaluation['model'];
  for (const source of Object.keys(model?.byTrace ?? {})) {
    out.push(`## Trace ${traceStem(source)}`);
    out.push('');
    out.push(table(scoreHeader, scoresRows(r.evaluation, (e) => e.byTrace[source])));
    out.push('');
    out.push(table(stepHeader, perStepRows(r.evaluation, (e) => e.byTrace[source])));
    out.push('');
  }

  out.push('## Breaches');
  out.push('');
  out.push(
    'Threshold per series: its training-part p95 / p99. Alarm at t: the upper quantile crosses the threshold within the horizon while the actual at t is not above it. Breach: an actual up-crossing (not one already under way); caught when an alarm came within the horizon before it. Lead: minutes from the first such alarm to the crossing.',
  );
  out.push('');
  out.push(
    table(
      ['method', 'threshold', 'breaches', 'caught', 'recall', 'alarms', 'precision', 'median lead (min)'],
      Object.entries(r.breaches).flatMap(([name, b]) =>
        b.overall.map((s) => [
          name,
          s.level,
          String(s.breaches),
          String(s.caught),
          pct(s.recall),
          String(s.alarms),
          pct(s.precision),
          num(s.medianLeadMinutes, 1),
        ]),
      ),
    ),
  );
  out.push('');

  out.push('## Baselines as fitted');
  out.push('');
  for (const [name, bySeries] of Object.entries(r.baselineDetails)) {
    const distinct = new Map<string, number>();
    for (const list of Object.values(bySeries)) {
      for (const d of list) distinct.set(d, (distinct.get(d) ?? 0) + 1);
    }
    out.push(`- ${name}: ${[...distinct].map(([d, n]) => `${d} (×${n})`).join('; ')}`);
  }
  out.push('');

  out.push('## Promotion');
  out.push('');
  out.push(
    `Rule: promote when the model’s mean MASE over the horizon steps beats naive’s (unless --force). ${r.decision.reason}. ${r.promoted ? `models/current.json now names ${r.version}.` : 'The current model is unchanged.'}`,
  );
  out.push('');
  return out.join('\n');
}

/** The JSON form of the report (NaN becomes null). */
export function renderJson(r: TrainingReport): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
