import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BacktestResult } from '../evaluate/backtest/run.js';
import type { SimulationSettings } from '../evaluate/backtest/settings.js';
import { demandOf, type DemandTrace } from '../evaluate/backtest/simulate.js';
import { HealcastError } from '../errors.js';
import { loadTraceFiles, writeTextFiles } from './fsTraining.js';

/**
 * Loads one column of a trace file as demand on one time line: segments (split at outages) are
 * concatenated, the outage itself cut out — nothing is served or paid for while there is no data.
 */
export async function loadDemandTrace(
  file: string,
  column: string | undefined,
  settings: SimulationSettings,
): Promise<DemandTrace> {
  const [trace] = await loadTraceFiles([file], {
    minRows: 2,
    ...(column === undefined ? {} : { columns: [column] }),
  });
  const series = trace?.series ?? [];
  const names = [...new Set(series.map((s) => s.name))];
  const name = names[0];
  if (name === undefined || names.length > 1) {
    throw new HealcastError(
      'CONFIG_INVALID',
      `${file} holds ${names.length} series (${names.join(', ')}): choose one with --column`,
      { retriable: false },
    );
  }
  const segments = series.filter((s) => s.name === name);
  const stepMs = segments[0]?.stepMs ?? 60_000;
  const total = segments.reduce((n, s) => n + s.values.length, 0);
  const timesMs = new Float64Array(total);
  const demand = new Float64Array(total);
  let i = 0;
  for (const s of segments) {
    for (let k = 0; k < s.values.length; k++, i++) {
      timesMs[i] = s.startMs + k * s.stepMs;
      demand[i] = demandOf(s.values[k] as number, settings);
    }
  }
  return { name, stepMs, timesMs, demand };
}

/** The JSON report: settings, figures, target check and every action. */
export function backtestJson(
  command: string,
  trace: DemandTrace,
  settings: SimulationSettings,
  result: BacktestResult,
  seconds: number,
): string {
  return `${JSON.stringify(
    {
      command,
      trace: { name: trace.name, stepMs: trace.stepMs, steps: trace.demand.length },
      settings,
      seconds,
      target: result.target,
      strategies: result.summaries,
      actions: Object.fromEntries(result.runs.map((r) => [r.id, r.actions])),
    },
    null,
    2,
  )}\n`;
}

const PALETTE = ['#d62728', '#ff7f0e', '#1f77b4', '#2ca02c'];

/** Per-step plot data: time (s), demand, the ready capacity of each strategy. */
function plotData(trace: DemandTrace, settings: SimulationSettings, result: BacktestResult) {
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    x: Array.from(trace.timesMs, (t) => t / 1000),
    demand: Array.from(trace.demand, round),
    capacity: result.runs.map((r) =>
      Array.from(r.readyReplicas, (n) => n * settings.capacityPerReplica),
    ),
    labels: result.runs.map((r) => r.label),
    actions: result.runs.map((r) =>
      r.actions.map((a) => [a.atMs / 1000, a.toReplicas > a.fromReplicas ? 1 : -1]),
    ),
  };
}

/**
 * A self-contained HTML page (uPlot's script and style inlined, so it opens from a file):
 * demand and each strategy's ready capacity over time, with a tick per scaling action (up
 * above, down below the strategy's line), and the table.
 */
export async function backtestHtml(
  title: string,
  markdown: string,
  trace: DemandTrace,
  settings: SimulationSettings,
  result: BacktestResult,
): Promise<string> {
  const dist = dirname(createRequire(import.meta.url).resolve('uplot'));
  const [js, css] = await Promise.all([
    readFile(join(dist, 'uPlot.iife.min.js'), 'utf8'),
    readFile(join(dist, 'uPlot.min.css'), 'utf8'),
  ]);
  const data = JSON.stringify(plotData(trace, settings, result)).replace(/</g, '\\u003c');
  const escape = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>${css}
body{font:14px system-ui,sans-serif;margin:16px}pre{background:#f6f6f6;padding:8px}</style>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script></head>
<body><h1>${escape(title)}</h1>
<p>Demand (black) and the ready capacity of each strategy; ticks mark scaling actions. Drag to zoom, double-click to reset.</p>
<div id="chart"></div>
<pre>${escape(markdown)}</pre>
<script>
const D = ${data};
const colors = ${JSON.stringify(PALETTE)};
const actionTicks = (u) => {
  const ctx = u.ctx;
  D.actions.forEach((list, s) => {
    if (!u.series[s + 2].show) return;
    ctx.fillStyle = colors[s % colors.length];
    for (const [t, dir] of list) {
      const x = u.valToPos(t, 'x', true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      const y = dir > 0 ? u.bbox.top + 4 * devicePixelRatio * (s + 1) : u.bbox.top + u.bbox.height - 4 * devicePixelRatio * (s + 1);
      ctx.fillRect(x - devicePixelRatio, y - 2 * devicePixelRatio, 2 * devicePixelRatio, 4 * devicePixelRatio);
    }
  });
};
new uPlot({
  width: Math.max(800, window.innerWidth - 40), height: 500,
  series: [{}, { label: 'demand', stroke: '#000', width: 1 },
    ...D.labels.map((l, i) => ({ label: l + ' capacity', stroke: colors[i % colors.length], width: 1.5 }))],
  hooks: { draw: [actionTicks] },
}, [D.x, D.demand, ...D.capacity], document.getElementById('chart'));
</script></body></html>
`;
}

/** Writes report.json, report.md and report.html into `dir`. */
export async function writeBacktestFiles(
  dir: string,
  files: { json: string; markdown: string; html: string },
): Promise<string[]> {
  const paths = {
    [join(dir, 'report.json')]: files.json,
    [join(dir, 'report.md')]: files.markdown,
    [join(dir, 'report.html')]: files.html,
  };
  await writeTextFiles(paths);
  return Object.keys(paths);
}
