/**
 * What the worker shows about one series for inspection: recent actuals with the baseline
 * band, the latest quantile forecast, and each predictive policy's view of it. Served as JSON
 * (`/api/series/view?key=…`) and plotted by the page at `/ui`.
 */
export interface SeriesView {
  /** Canonical series key, e.g. `cpu_utilization{host="a"}`. */
  readonly series: string;
  /** The series' sampling step (ms). */
  readonly stepMs: number;
  /** Recent actuals, oldest first; `mean/lower/upper` is the EWMA baseline band before each. */
  readonly actuals: {
    readonly tsMs: readonly number[];
    readonly values: readonly number[];
    readonly mean: readonly (number | null)[];
    readonly lower: readonly (number | null)[];
    readonly upper: readonly (number | null)[];
  };
  /** The latest forecast, or null when no model is loaded or the series is too short. */
  readonly forecast: {
    readonly madeAtMs: number;
    readonly modelVersion: string;
    readonly quantiles: readonly number[];
    /** Times of the forecast steps. */
    readonly tsMs: readonly number[];
    /** values[q][h]: quantile q at step h, in the metric's unit. */
    readonly values: readonly (readonly number[])[];
  } | null;
  /** Policies watching the series and what they make of the forecast. */
  readonly policies: readonly {
    readonly name: string;
    readonly threshold: number;
    readonly direction: 'above' | 'below';
    /** P(breach within the policy's horizon), null without a forecast or predict trigger. */
    readonly probability: number | null;
    /** Expected time to breach (ms), null when none is expected. */
    readonly etaMs: number | null;
    /**
     * The breach probability at which the policy acts ahead on this series now: its
     * `probability`, or higher where `distrust` raised it; null without a predict trigger.
     */
    readonly actsAtProbability: number | null;
  }[];
}

/** A series in the inspection list, with why it is listed. */
export interface SeriesListEntry {
  readonly series: string;
  /** Highest breach probability over its policies (null without forecast). */
  readonly risk: number | null;
  /** `configured` (always shown) or `at_risk` (top-K by risk). */
  readonly reason: 'configured' | 'at_risk';
}

/** Where the HTTP endpoint gets series views from (the worker keeps them up to date). */
export interface SeriesViewProvider {
  list(): readonly SeriesListEntry[];
  view(series: string): SeriesView | undefined;
}
