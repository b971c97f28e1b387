import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SeriesViewProvider } from '../../forecast/seriesView.js';
import { sendJson, type HttpEndpoint } from './httpServer.js';

/** Query parameter of `/api/series/view` that names the series (its canonical key). */
export const SERIES_KEY_PARAM = 'key';

/** A file served as it is, read once when the routes are mounted. */
interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  /** Seconds a browser may reuse it without asking again. */
  readonly maxAgeSeconds: number;
}

/**
 * Mounts forecast inspection on the worker's HTTP endpoint:
 *
 * - `GET /api/series` — the listed series (`SeriesListEntry[]`: configured ones and the top-K
 *   at risk, with their risk), as JSON.
 * - `GET /api/series/view?key=<series key>` — one `SeriesView` as JSON; 400 when `key` is
 *   missing or empty, 404 when the provider does not know the series.
 * - `GET /ui` — a self-contained page that lists the series and plots the selected one
 *   (actuals, baseline band, forecast quantile band, policy thresholds), refreshing every 5 s.
 *   Its script and uPlot (`/ui/ui.js`, `/ui/uplot.iife.min.js`, `/ui/uplot.min.css`) come
 *   from this endpoint too: the page loads nothing from the network.
 *
 * The static files are read here, once, so a missing file fails at start rather than on the
 * first request. JSON answers are never cached: they change with every scored sample.
 */
export function mountInspection(endpoint: HttpEndpoint, provider: SeriesViewProvider): void {
  endpoint.route('/api/series', (_req, res) => {
    sendJsonNoStore(res, 200, provider.list());
  });

  endpoint.route('/api/series/view', (req, res) => {
    const key = new URL(req.url ?? '/', 'http://localhost').searchParams.get(SERIES_KEY_PARAM);
    if (key === null || key === '') {
      sendJsonNoStore(res, 400, { error: `missing query parameter ${SERIES_KEY_PARAM}` });
      return;
    }
    const view = provider.view(key);
    if (view === undefined) {
      sendJsonNoStore(res, 404, { error: 'unknown series', series: key });
      return;
    }
    sendJsonNoStore(res, 200, view);
  });

  const ui = uiDirectory();
  const uplot = uplotDirectory();
  // The page and its script change with the worker's version; uPlot only with the package.
  const assets: Record<string, StaticAsset> = {
    '/ui': asset(join(ui, 'index.html'), 'text/html; charset=utf-8', 0),
    '/ui/ui.js': asset(join(ui, 'ui.js'), 'text/javascript; charset=utf-8', 0),
    '/ui/uplot.iife.min.js': asset(
      join(uplot, 'uPlot.iife.min.js'),
      'text/javascript; charset=utf-8',
      3600,
    ),
    '/ui/uplot.min.css': asset(join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8', 3600),
  };
  for (const [path, file] of Object.entries(assets)) {
    endpoint.route(path, (_req, res) => sendAsset(res, file));
  }
  // Relative asset paths in the page only resolve from `/ui`; send `/ui/` there.
  endpoint.route('/ui/', (_req, res) => {
    res.writeHead(308, { location: '../ui' });
    res.end();
  });
}

function sendJsonNoStore(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('cache-control', 'no-store');
  sendJson(res, status, body);
}

function asset(file: string, contentType: string, maxAgeSeconds: number): StaticAsset {
  return { body: readFileSync(file), contentType, maxAgeSeconds };
}

function sendAsset(res: ServerResponse, file: StaticAsset): void {
  res.writeHead(200, {
    'content-type': file.contentType,
    'content-length': file.body.length,
    'cache-control': file.maxAgeSeconds > 0 ? `max-age=${file.maxAgeSeconds}` : 'no-cache',
    'x-content-type-options': 'nosniff',
    // The page runs only its own script; uPlot sets inline styles on the elements it makes.
    'content-security-policy':
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
      "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  });
  res.end(file.body);
}

/**
 * Where index.html and ui.js live. They are not TypeScript, so `tsc` does not copy them to
 * dist/; like the demo's files they ship in src/ and are found from the package root, which
 * works from src/ (tsx, vitest) and from dist/src/ alike.
 */
function uiDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    }
    dir = parent;
  }
  return join(dir, 'src', 'adapters', 'http', 'ui');
}

/** uPlot's dist/ folder, resolved the way Node resolves the package, wherever it is installed. */
function uplotDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}
