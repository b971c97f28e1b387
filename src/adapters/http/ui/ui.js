// healcast forecast inspection page (browser code, plain JS on purpose: the worker serves it
// as it is, so there is no build step). Data: GET api/series (the list) and
// GET api/series/view?key=… (one SeriesView, see src/forecast/seriesView.ts). Charting: uPlot,
// loaded by index.html as the global `uPlot`.

const REFRESH_MS = 5_000;
const CHART_HEIGHT = 360;

const COLORS = {
  actual: '#111827',
  baseline: '#2563eb',
  baselineFill: 'rgba(37, 99, 235, 0.10)',
  forecast: '#7c3aed',
  forecastFill: 'rgba(124, 58, 237, 0.20)',
  // One per policy, cycled; reds and oranges so thresholds read as limits.
  thresholds: ['#dc2626', '#ea580c', '#be185d', '#a16207', '#9333ea'],
};

const el = {
  status: document.getElementById('status'),
  noSeries: document.getElementById('no-series'),
  groups: document.getElementById('groups'),
  viewTitle: document.getElementById('view-title'),
  viewMeta: document.getElementById('view-meta'),
  noForecast: document.getElementById('no-forecast'),
  noSamples: document.getElementById('no-samples'),
  chart: document.getElementById('chart'),
  policies: document.getElementById('policies'),
  policyRows: document.querySelector('#policies tbody'),
};

/** The series shown; kept in the URL hash so a reload or a shared link shows the same one. */
let selected = readHash();
/** Bumped by every refresh; a response from an older refresh is dropped (latest wins). */
let refreshSeq = 0;
let chart = null;
/** Describes the chart's series layout; a new layout needs a new uPlot instance. */
let chartLayout = '';

function readHash() {
  const value = new URLSearchParams(location.hash.slice(1)).get('series');
  return value === null || value === '' ? null : value;
}

function writeHash(series) {
  history.replaceState(null, '', '#' + new URLSearchParams({ series }).toString());
}

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const reason = body && typeof body.error === 'string' ? body.error : res.statusText;
    const error = new Error(`${path}: HTTP ${res.status} ${reason}`);
    error.status = res.status;
    throw error;
  }
  return body;
}

// ---- formatting ----

function formatProbability(p) {
  if (p === null || p === undefined) return '—';
  if (p > 0 && p < 0.01) return '<1 %';
  return `${Math.round(p * 100)} %`;
}

function riskClass(p) {
  if (p === null || p === undefined) return '';
  if (p >= 0.5) return 'high';
  if (p >= 0.2) return 'mid';
  return 'low';
}

function formatDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  if (h < 48) return rest === 0 ? `${h} h` : `${h} h ${rest} min`;
  return `${Math.round(h / 24)} d`;
}

function formatEta(ms) {
  if (ms === null || ms === undefined) return '—';
  return ms <= 0 ? 'now' : `in ${formatDuration(ms)}`;
}

function formatTime(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

function quantileLabel(q) {
  return `p${Math.round(q * 100)}`;
}

// ---- the list ----

function renderList(entries) {
  el.noSeries.hidden = entries.length > 0;
  // The list is rebuilt on every refresh; keep keyboard focus on the same series.
  const focused = document.activeElement?.dataset?.series;
  el.groups.replaceChildren();
  const groups = [
    { reason: 'configured', title: 'Configured' },
    { reason: 'at_risk', title: 'At risk' },
  ];
  for (const group of groups) {
    const members = entries.filter((e) => e.reason === group.reason);
    if (members.length === 0) continue;
    const heading = document.createElement('h2');
    heading.textContent = group.title;
    heading.id = `group-${group.reason}`;
    const list = document.createElement('ul');
    list.setAttribute('aria-labelledby', heading.id);
    for (const entry of members) list.append(listItem(entry));
    el.groups.append(heading, list);
  }
  if (focused !== undefined) {
    for (const button of el.groups.querySelectorAll('button')) {
      if (button.dataset.series === focused) button.focus();
    }
  }
}

function listItem(entry) {
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.series = entry.series;
  button.setAttribute('aria-current', String(entry.series === selected));
  const key = document.createElement('span');
  key.className = 'series-key';
  key.textContent = entry.series;
  const risk = document.createElement('span');
  risk.className = `risk ${riskClass(entry.risk)}`.trim();
  risk.textContent = entry.risk === null ? 'no forecast' : formatProbability(entry.risk);
  risk.title = 'Highest breach probability over the policies watching this series';
  button.setAttribute(
    'aria-label',
    `${entry.series}, breach risk ${entry.risk === null ? 'unknown, no forecast' : formatProbability(entry.risk)}`,
  );
  button.append(key, risk);
  button.addEventListener('click', () => {
    selected = entry.series;
    writeHash(selected);
    for (const b of el.groups.querySelectorAll('button')) {
      b.setAttribute('aria-current', String(b.dataset.series === selected));
    }
    void refresh();
  });
  const item = document.createElement('li');
  item.append(button);
  return item;
}

// ---- the selected series ----

function renderView(view) {
  el.viewTitle.textContent = view.series;
  const meta = [`step ${formatDuration(view.stepMs)}`];
  if (view.actuals.tsMs.length > 0) {
    meta.push(`last sample ${formatTime(view.actuals.tsMs[view.actuals.tsMs.length - 1])}`);
  }
  if (view.forecast) {
    meta.push(`forecast made ${formatTime(view.forecast.madeAtMs)}`);
    meta.push(`model ${view.forecast.modelVersion}`);
  }
  el.viewMeta.textContent = meta.join(' · ');
  el.noForecast.hidden = view.forecast !== null;
  const empty = view.actuals.tsMs.length === 0 && view.forecast === null;
  el.noSamples.hidden = !empty;
  if (empty) destroyChart();
  else drawChart(view);
  renderPolicies(view.policies);
}

function clearView() {
  el.viewTitle.textContent = '—';
  el.viewMeta.textContent = '';
  el.noForecast.hidden = true;
  el.noSamples.hidden = true;
  destroyChart();
  renderPolicies([]);
}

function renderPolicies(policies) {
  el.policies.hidden = policies.length === 0;
  el.policyRows.replaceChildren();
  policies.forEach((policy, i) => {
    const row = document.createElement('tr');
    const name = document.createElement('td');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.borderColor = thresholdColor(i);
    swatch.setAttribute('aria-hidden', 'true');
    name.append(swatch, policy.name);
    const cells = [
      name,
      cell(`${policy.direction} ${policy.threshold}`),
      cell(formatProbability(policy.probability), 'num'),
      cell(formatProbability(policy.actsAtProbability ?? null), 'num'),
      cell(formatEta(policy.etaMs), 'num'),
    ];
    row.append(...cells);
    el.policyRows.append(row);
  });
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function thresholdColor(i) {
  return COLORS.thresholds[i % COLORS.thresholds.length];
}

/**
 * Lays the view out as uPlot wants it: one shared x array (the union of actual and forecast
 * times) and one y array per drawn line, null where a line has no point.
 */
function chartData(view) {
  const { actuals, forecast } = view;
  const xs = [...new Set([...actuals.tsMs, ...(forecast ? forecast.tsMs : [])])].sort(
    (a, b) => a - b,
  );
  const index = new Map(xs.map((x, i) => [x, i]));
  const column = (ts, values) => {
    const out = new Array(xs.length).fill(null);
    ts.forEach((t, i) => (out[index.get(t)] = values[i] ?? null));
    return out;
  };

  const series = [{}];
  const data = [xs];
  const bands = [];
  const add = (opts, values) => {
    series.push(opts);
    data.push(values);
    return series.length - 1;
  };

  add({ label: 'actual', stroke: COLORS.actual, width: 2 }, column(actuals.tsMs, actuals.values));
  const mean = { stroke: COLORS.baseline, width: 1 };
  const edge = { stroke: COLORS.baseline, width: 0.5, dash: [2, 3] };
  add({ ...mean, label: 'baseline mean' }, column(actuals.tsMs, actuals.mean));
  const lower = add({ ...edge, label: 'baseline lower' }, column(actuals.tsMs, actuals.lower));
  const upper = add({ ...edge, label: 'baseline upper' }, column(actuals.tsMs, actuals.upper));
  bands.push({ series: [upper, lower], fill: COLORS.baselineFill });

  if (forecast) {
    const qs = forecast.quantiles;
    const lo = qs.indexOf(Math.min(...qs));
    const hi = qs.indexOf(Math.max(...qs));
    const mid = qs.reduce(
      (best, q, i) => (Math.abs(q - 0.5) < Math.abs(qs[best] - 0.5) ? i : best),
      0,
    );
    // Start the fan at the last actual before the forecast so it visibly grows out of the
    // observations instead of floating after a gap.
    const first = forecast.tsMs[0];
    const anchor = actuals.tsMs.filter((t) => t < first).length - 1;
    const quantileColumn = (q) => {
      const values = column(forecast.tsMs, forecast.values[q] ?? []);
      if (anchor >= 0) values[index.get(actuals.tsMs[anchor])] = actuals.values[anchor];
      return values;
    };
    const bandEdge = { stroke: COLORS.forecast, width: 0.5 };
    const low = add(
      { ...bandEdge, label: `forecast ${quantileLabel(qs[lo])}` },
      quantileColumn(lo),
    );
    add(
      {
        stroke: COLORS.forecast,
        width: 2,
        dash: [6, 4],
        label: `forecast ${quantileLabel(qs[mid])}`,
      },
      quantileColumn(mid),
    );
    const high = add(
      { ...bandEdge, label: `forecast ${quantileLabel(qs[hi])}` },
      quantileColumn(hi),
    );
    bands.push({ series: [high, low], fill: COLORS.forecastFill });
  }

  view.policies.forEach((policy, i) => {
    add(
      {
        label: `${policy.name} (${policy.direction} ${policy.threshold})`,
        stroke: thresholdColor(i),
        width: 1.5,
      },
      xs.map(() => policy.threshold),
    );
  });

  const layout = series.map((s) => s.label).join('|');
  return { data, series, bands, layout };
}

function drawChart(view) {
  const { data, series, bands, layout } = chartData(view);
  el.chart.setAttribute(
    'aria-label',
    `Chart of ${view.series}: actual values, baseline band` +
      (view.forecast ? ', forecast quantile band' : '') +
      (view.policies.length > 0 ? ` and ${view.policies.length} policy thresholds` : ''),
  );
  // Same lines as before: only the data changed, keep the instance (and the user's cursor).
  if (chart && layout === chartLayout) {
    chart.setData(data);
    return;
  }
  destroyChart();
  chartLayout = layout;
  chart = new uPlot(
    {
      width: chartWidth(),
      height: CHART_HEIGHT,
      ms: 1,
      series,
      bands,
      scales: { x: { time: true } },
      axes: [{}, { size: 60 }],
      // Filled markers: the default hollow boxes are hard to match with thin lines.
      legend: { live: true, markers: { fill: (_u, i) => series[i]?.stroke ?? 'transparent' } },
      cursor: { focus: { prox: 16 } },
    },
    data,
    el.chart,
  );
}

function destroyChart() {
  if (chart) chart.destroy();
  chart = null;
  chartLayout = '';
}

function chartWidth() {
  return Math.max(300, el.chart.clientWidth);
}

new ResizeObserver(() => {
  if (chart && chart.width !== chartWidth()) {
    chart.setSize({ width: chartWidth(), height: CHART_HEIGHT });
  }
}).observe(el.chart);

// ---- refresh loop ----

function setStatus(text, isError = false) {
  el.status.textContent = text;
  el.status.classList.toggle('error', isError);
}

async function refresh() {
  const seq = ++refreshSeq;
  try {
    const entries = await getJson('api/series');
    if (seq !== refreshSeq) return;
    if (selected === null && entries.length > 0) selected = entries[0].series;
    renderList(entries);
    if (entries.length === 0) {
      clearView();
      setStatus(`No series yet · checked ${new Date().toLocaleTimeString()}`);
      return;
    }
    let view;
    try {
      view = await getJson('api/series/view?key=' + encodeURIComponent(selected));
    } catch (error) {
      // The series was evicted or dropped out of the top-K: fall back to the first listed.
      if (error.status !== 404 || entries.length === 0 || entries[0].series === selected)
        throw error;
      selected = entries[0].series;
      writeHash(selected);
      return refresh();
    }
    if (seq !== refreshSeq) return;
    renderView(view);
    setStatus(`Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`);
  } catch (error) {
    if (seq !== refreshSeq) return;
    setStatus(`Could not refresh (${error.message}); retrying every ${REFRESH_MS / 1000} s`, true);
  }
}

setInterval(() => {
  // A hidden tab does not need fresh data; it refreshes when shown again.
  if (!document.hidden) void refresh();
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
});
window.addEventListener('hashchange', () => {
  selected = readHash();
  void refresh();
});
void refresh();
