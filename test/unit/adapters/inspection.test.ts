import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpEndpoint } from '../../../src/adapters/http/httpServer.js';
import { mountInspection } from '../../../src/adapters/http/inspection.js';
import type {
  SeriesListEntry,
  SeriesView,
  SeriesViewProvider,
} from '../../../src/forecast/seriesView.js';
import { silentLogger } from '../../helpers/fakes.js';

const T0 = 1_700_000_000_000;
// Braces, quotes and commas: the key must survive the query string.
const CPU = 'cpu_utilization{host="a",env="prod"}';

const cpuView: SeriesView = {
  series: CPU,
  stepMs: 60_000,
  actuals: {
    tsMs: [T0, T0 + 60_000],
    values: [70, 75],
    mean: [null, 70],
    lower: [null, 60],
    upper: [null, 80],
  },
  forecast: {
    madeAtMs: T0 + 60_000,
    modelVersion: 'test-1',
    quantiles: [0.1, 0.5, 0.9],
    tsMs: [T0 + 120_000, T0 + 180_000],
    values: [
      [72, 73],
      [78, 81],
      [84, 90],
    ],
  },
  policies: [
    {
      name: 'cpu-high',
      threshold: 80,
      direction: 'above',
      probability: 0.7,
      etaMs: 120_000,
      actsAtProbability: 0.3,
    },
  ],
};

class FakeProvider implements SeriesViewProvider {
  readonly views = new Map<string, SeriesView>([[CPU, cpuView]]);
  list(): readonly SeriesListEntry[] {
    return [{ series: CPU, risk: 0.7, reason: 'configured' }];
  }
  view(series: string): SeriesView | undefined {
    return this.views.get(series);
  }
}

const endpoint = new HttpEndpoint(
  new Registry(),
  { isAlive: () => true, readiness: () => ({ ready: true, components: {} }) },
  silentLogger(),
);
let base = '';

beforeAll(async () => {
  mountInspection(endpoint, new FakeProvider());
  const port = await endpoint.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => endpoint.close());

async function getJson(path: string): Promise<{ status: number; type: string; body: unknown }> {
  const res = await fetch(base + path);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: await res.json(),
  };
}

describe('inspection JSON routes', () => {
  it('GET /api/series lists the provider entries', async () => {
    const res = await fetch(base + '/api/series');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // Views change with every sample: a cached copy would show stale forecasts.
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual([{ series: CPU, risk: 0.7, reason: 'configured' }]);
  });

  it('GET /api/series/view?key=… returns the series view', async () => {
    const res = await getJson('/api/series/view?key=' + encodeURIComponent(CPU));
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toEqual(cpuView);
  });

  it.each([
    ['unknown key', '/api/series/view?key=' + encodeURIComponent('nope{}'), 404, 'unknown series'],
    ['missing key', '/api/series/view', 400, 'missing query parameter key'],
    ['empty key', '/api/series/view?key=', 400, 'missing query parameter key'],
    ['other parameter only', '/api/series/view?series=x', 400, 'missing query parameter key'],
  ])('%s → %i with a JSON error', async (_name, path, status, error) => {
    const res = await getJson(path);
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ error });
  });

  it('names the unknown series in the 404 body', async () => {
    const res = await getJson('/api/series/view?key=' + encodeURIComponent('nope{}'));
    expect(res.body).toEqual({ error: 'unknown series', series: 'nope{}' });
  });
});

describe('inspection page and assets', () => {
  it.each([
    ['/ui', /^text\/html/, '<title>healcast'],
    ['/ui/ui.js', /^text\/javascript/, 'api/series'],
    ['/ui/uplot.iife.min.js', /^text\/javascript/, 'uPlot'],
    ['/ui/uplot.min.css', /^text\/css/, '.uplot'],
  ])('GET %s is served with its content type', async (path, type, snippet) => {
    const res = await fetch(base + path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain(snippet);
  });

  it('the page loads its assets from the worker only', async () => {
    const html = await (await fetch(base + '/ui')).text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    // data: URLs are inline (the empty favicon); everything else must be one of our routes.
    const fetched = sources.filter((s) => !s.startsWith('data:'));
    expect(fetched.sort()).toEqual(['ui/ui.js', 'ui/uplot.iife.min.js', 'ui/uplot.min.css']);
  });

  it('redirects /ui/ to /ui, where the relative asset paths resolve', async () => {
    const res = await fetch(base + '/ui/', { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(new URL(res.headers.get('location') ?? '', base + '/ui/').pathname).toBe('/ui');
  });
});
