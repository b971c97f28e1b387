import type { SeriesListEntry, SeriesView, SeriesViewProvider } from '../forecast/seriesView.js';

/**
 * The newest inspection views the core reported (it runs on another thread): what the HTTP
 * endpoint serves. Replaced wholesale after every batch that carried a forecasting report.
 */
export class LatestViews implements SeriesViewProvider {
  private entries: readonly SeriesListEntry[] = [];
  private views = new Map<string, SeriesView>();

  update(list: readonly SeriesListEntry[], views: readonly SeriesView[]): void {
    this.entries = list;
    this.views = new Map(views.map((view) => [view.series, view]));
  }

  list(): readonly SeriesListEntry[] {
    return this.entries;
  }

  view(series: string): SeriesView | undefined {
    return this.views.get(series);
  }
}
