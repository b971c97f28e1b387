// The forecast inspection page in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against a real HttpEndpoint on port 0 with a fake SeriesViewProvider.
// scripts/chromium.sh installs the browser when the machine has none (CI starts fresh).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpEndpoint } from '../../src/adapters/http/httpServer.js';
import { mountInspection } from '../../src/adapters/http/inspection.js';
import type {
  SeriesListEntry,
  SeriesView,
  SeriesViewProvider,
} from '../../src/forecast/seriesView.js';
import { silentLogger } from '../helpers/fakes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google's hosts, which a
// closed network refuses; --no-sandbox because CI runs as root.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = path.join(ROOT, '.cache', 'ui-test.png');

const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);
const STEP_MS = 60_000;
const CPU = 'cpu_utilization{host="web-1"}';
const QUEUE = 'queue_depth{queue="jobs"}';

/** Minute-by-minute values, smooth plus a deterministic wobble (no Math.random in tests). */
function wave(n: number, at: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => at(i) + 2.5 * Math.sin(i * 1.7) + 1.5 * Math.cos(i));
}

function actuals(values: number[], spread: number): SeriesView['actuals'] {
  const tsMs = values.map((_, i) => T0 + i * STEP_MS);
  // A lagging mean, like an EWMA, absent during warm-up.
  const mean = values.map((_, i) =>
    i < 5 ? null : values.slice(i - 5, i).reduce((a, b) => a + b) / 5,
  );
  return {
    tsMs,
    values,
    mean,
    lower: mean.map((m) => (m === null ? null : m - spread)),
    upper: mean.map((m) => (m === null ? null : m + spread)),
  };
}

/** CPU climbing towards its 80 % threshold; the forecast's p90 crosses it within minutes. */
function cpuView(): SeriesView {
  const past = actuals(
    wave(90, (i) => 50 + i * 0.25),
    6,
  );
  const last = past.values[past.values.length - 1] ?? 0;
  const horizon = Array.from({ length: 30 }, (_, h) => h + 1);
  return {
    series: CPU,
    stepMs: STEP_MS,
    actuals: past,
    forecast: {
      madeAtMs: T0 + 89 * STEP_MS,
      modelVersion: 'tcn-2026-11-27',
      quantiles: [0.1, 0.5, 0.9],
      tsMs: horizon.map((h) => T0 + (89 + h) * STEP_MS),
      values: [
        horizon.map((h) => last + 0.2 * h - 0.6 * Math.sqrt(h) * 2),
        horizon.map((h) => last + 0.45 * h),
        horizon.map((h) => last + 0.7 * h + 0.6 * Math.sqrt(h) * 2),
      ],
    },
    policies: [
      {
        name: 'cpu-high',
        threshold: 80,
        direction: 'above',
        probability: 0.73,
        etaMs: 540_000,
        actsAtProbability: 0.3,
      },
      {
        name: 'cpu-critical',
        threshold: 95,
        direction: 'above',
        probability: 0.04,
        etaMs: null,
        actsAtProbability: 0.3,
      },
    ],
  };
}

/** A series without forecast: no model loaded for it. */
function queueView(): SeriesView {
  return {
    series: QUEUE,
    stepMs: STEP_MS,
    actuals: actuals(
      wave(90, (i) => 200 + 40 * Math.sin(i / 12)),
      45,
    ),
    forecast: null,
    policies: [
      {
        name: 'queue-backlog',
        threshold: 400,
        direction: 'above',
        probability: null,
        etaMs: null,
        actsAtProbability: null,
      },
    ],
  };
}

class FakeProvider implements SeriesViewProvider {
  cpuRisk = 0.73;
  /** false: the worker has no series yet. */
  hasSeries = true;
  readonly views = new Map([
    [CPU, cpuView()],
    [QUEUE, queueView()],
  ]);
  list(): readonly SeriesListEntry[] {
    if (!this.hasSeries) return [];
    return [
      { series: QUEUE, risk: null, reason: 'configured' },
      { series: CPU, risk: this.cpuRisk, reason: 'at_risk' },
    ];
  }
  view(series: string): SeriesView | undefined {
    return this.hasSeries ? this.views.get(series) : undefined;
  }
}

/** Runs scripts/chromium.sh (idempotent); its progress and timing go to our stderr. */
function ensureChromium(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts', 'chromium.sh')], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/chromium.sh exited with ${code}`)),
    );
  });
}

const provider = new FakeProvider();
const endpoint = new HttpEndpoint(
  new Registry(),
  { isAlive: () => true, readiness: () => ({ ready: true, components: {} }) },
  silentLogger(),
);
let base = '';
let browser: Browser;
let page: Page;
/** Console errors, page errors and requests that left the worker: each one fails a test. */
const problems: string[] = [];

beforeAll(async () => {
  await ensureChromium();
  mountInspection(endpoint, provider);
  base = `http://127.0.0.1:${await endpoint.listen('127.0.0.1', 0)}`;
  // playwright gives every launch a fresh temporary profile (--user-data-dir).
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (req) => {
    if (!req.url().startsWith(base + '/')) problems.push(`request left the worker: ${req.url()}`);
  });
  page.on('requestfailed', (req) => {
    // A refresh still in flight when the test reloads the page is aborted by the browser:
    // that is the test's doing, not the page's.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? '?'})`);
  });
}, 15 * 60_000);

afterAll(async () => {
  await browser?.close();
  await endpoint.close();
});

/** The risk badge next to a series in the list. */
function listedRisk(series: string): Promise<string> {
  return page.locator(`#series-list button[data-series='${series}'] .risk`).innerText();
}

/** The little of the DOM that paintedPixels uses (the project compiles without lib "dom"). */
interface CanvasDocument {
  querySelector(selector: string): {
    width: number;
    height: number;
    getContext(kind: '2d'): {
      getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
    } | null;
  } | null;
}

/** Number of painted pixels on the uPlot canvas: zero when nothing was drawn. */
function paintedPixels(): Promise<number> {
  // Runs in the page: serialised by playwright, so it may only use what the browser has.
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: CanvasDocument }).document;
    const canvas = doc.querySelector('#chart canvas');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted++;
    return painted;
  });
}

/** Waits until the page shows `series` as the selected one. */
async function shown(series: string): Promise<void> {
  await expect.poll(() => page.locator('#view-title').innerText()).toBe(series);
}

describe('forecast inspection page (headless Chromium)', () => {
  it('lists both series with their risk and charts the one at risk', async () => {
    await page.goto(base + '/ui');
    expect(await page.title()).toBe('healcast · forecast inspection');

    await page.locator('#series-list button').nth(1).waitFor();
    expect(await page.locator('#series-list button').count()).toBe(2);
    expect(await listedRisk(CPU)).toBe('73 %');
    expect(await listedRisk(QUEUE)).toBe('no forecast');
    expect(await page.locator('#series-list h2').allInnerTexts()).toEqual([
      'CONFIGURED',
      'AT RISK',
    ]);

    // The first listed series is shown until the user picks one; pick the one at risk.
    await page.locator(`#series-list button[data-series='${CPU}']`).click();
    await shown(CPU);
    expect(await page.locator(`button[data-series='${CPU}']`).getAttribute('aria-current')).toBe(
      'true',
    );

    const canvas = page.locator('#chart canvas');
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(200);
    expect(await paintedPixels()).toBeGreaterThan(1000);

    const legend = await page.locator('#chart .u-legend').innerText();
    for (const label of [
      'actual',
      'baseline mean',
      'forecast p10',
      'forecast p50',
      'forecast p90',
      'cpu-high (above 80)',
      'cpu-critical (above 95)',
    ]) {
      expect(legend).toContain(label);
    }
    expect(await page.locator('#policies tbody tr').allInnerTexts()).toEqual([
      'cpu-high\tabove 80\t73 %\t30 %\tin 9 min',
      'cpu-critical\tabove 95\t4 %\t30 %\t—',
    ]);
    expect(await page.locator('#no-forecast').isVisible()).toBe(false);
    expect(await page.locator('#view-meta').innerText()).toContain('model tcn-2026-11-27');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('switches to the series without forecast and says so', async () => {
    await page.locator(`#series-list button[data-series='${QUEUE}']`).click();
    await shown(QUEUE);
    expect(await page.locator('#no-forecast').isVisible()).toBe(true);
    expect(await page.locator('#no-forecast').innerText()).toContain('No forecast');
    expect(await page.locator(`button[data-series='${CPU}']`).getAttribute('aria-current')).toBe(
      'false',
    );

    // Actuals, baseline and the threshold are still drawn; the forecast lines are gone.
    expect(await paintedPixels()).toBeGreaterThan(1000);
    const legend = await page.locator('#chart .u-legend').innerText();
    expect(legend).toContain('queue-backlog (above 400)');
    expect(legend).not.toContain('forecast');
    expect(await page.locator('#policies tbody tr').allInnerTexts()).toEqual([
      'queue-backlog\tabove 400\t—\t—\t—',
    ]);
    // The selection is in the URL, so a reload shows the same series.
    expect(new URL(page.url()).hash).toBe('#' + new URLSearchParams({ series: QUEUE }).toString());
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-no-forecast.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('refreshes the list every 5 s', async () => {
    provider.cpuRisk = 0.91;
    await expect.poll(() => listedRisk(CPU), { timeout: 8_000 }).toBe('91 %');
    expect(problems).toEqual([]);
  });

  it('says so when there are no series yet', async () => {
    provider.hasSeries = false;
    await page.reload();
    await page.locator('#no-series').waitFor();
    expect(await page.locator('#no-series').innerText()).toContain('No series yet');
    expect(await page.locator('#series-list button').count()).toBe(0);
    expect(await page.locator('#chart canvas').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
