/**
 * Online forecast quality per series family (metric name), and the fallback switch (pure).
 *
 * A model earns the right to trigger actions by beating the naive forecast ("the value stays
 * what it is now") on live data. When an actual value arrives, the caller scores the forecast
 * made `h` steps earlier for it: the model's median and upper quantile, the actual value, and
 * the naive forecast (the value at forecast time). Per family we keep a rolling window of
 * those points and report
 *
 * - `ratio`: mean |actual − median| ÷ mean |actual − naive| over the window — the mean
 *   absolute scaled error against the naive forecast on the same points (MASE-vs-naive).
 *   Below 1 the model helps; above 1 it is worse than doing nothing clever;
 * - `upperCoverage`: the share of actuals at or below the predicted upper quantile, to compare
 *   with that quantile's level (0.9 for p90): far below it, the forecast is overconfident.
 *
 * A family whose ratio stays above 1 for `fallbackAfterMs` (event time) is put in fallback:
 * predictive triggers are off for it and the reactive path alone acts. It leaves fallback when
 * the ratio stays below 1 for the same period. The symmetric delay keeps one bad or good hour
 * from flapping the switch; a ratio of exactly 1 counts as neither and restarts the wait.
 *
 * Time arrives with each point; nothing here reads a clock. Memory: one window per family;
 * families are metric names watched by predictive policies, a small bounded set.
 */

/** Settings of a {@link ForecastQualityTracker}. */
export interface ForecastQualityOptions {
  /** Scored points kept per family, most recent first out; default 500. */
  readonly windowPoints?: number;
  /**
   * Also drop points whose event time is more than this many milliseconds before the
   * family's newest point; default: no time limit (the point count alone bounds the window).
   */
  readonly windowMs?: number;
  /** Milliseconds the ratio must stay on the other side of 1 to enter or leave fallback. */
  readonly fallbackAfterMs: number;
  /**
   * Points needed in the window before the family is judged at all; default
   * `min(50, windowPoints)`. A handful of points cannot tell a model from luck.
   */
  readonly minPoints?: number;
}

/** One actual value compared with the forecast made for it. */
export interface ScoredForecast {
  /** Series family: the metric name. */
  readonly family: string;
  /** Steps between the forecast and the actual (1 = the forecast's first step). */
  readonly horizonSteps: number;
  /** The model's median (p50) forecast for the actual's time, in the metric's unit. */
  readonly predictedMedian: number;
  /** The model's upper quantile (e.g. p90) for the same time, in the metric's unit. */
  readonly predictedUpper: number;
  /** The value that arrived. */
  readonly actual: number;
  /** The naive forecast: the series' value when the forecast was made. */
  readonly naive: number;
  /** Event time of the actual (ms since the epoch). */
  readonly atMs: number;
}

/** Model vs naive on the window's points of one horizon. */
export interface HorizonQuality {
  readonly horizonSteps: number;
  readonly points: number;
  /** MASE-vs-naive at this horizon (see {@link FamilyQuality.ratio}). */
  readonly ratio: number;
}

/** Rolling quality of one family's forecasts. */
export interface FamilyQuality {
  readonly family: string;
  /** Scored points in the window. */
  readonly points: number;
  /** Points refused because a value was not a finite number (since the tracker started). */
  readonly skipped: number;
  /** Mean absolute error of the model's median over the window, in the metric's unit. */
  readonly modelMae: number;
  /** Mean absolute error of the naive forecast over the same points. */
  readonly naiveMae: number;
  /**
   * `modelMae / naiveMae`: below 1 the model beats the naive forecast. `NaN` with no points;
   * 1 when both are exact (a flat series: neither is better); `Infinity` when only the naive
   * forecast is exact.
   */
  readonly ratio: number;
  /** Share (0..1) of actuals at or below the predicted upper quantile; `NaN` with no points. */
  readonly upperCoverage: number;
  /** True while predictive triggers are off for the family. */
  readonly fallback: boolean;
  /** Event time the family entered fallback; `undefined` when not in fallback. */
  readonly fallbackSinceMs: number | undefined;
  /** The same comparison per horizon, ascending; only horizons with points in the window. */
  readonly byHorizon: readonly HorizonQuality[];
}

/** What a scored point changed: `entered` / `left` fallback, or `undefined` for nothing. */
export type FallbackTransition = 'entered' | 'left' | undefined;

const DEFAULT_WINDOW_POINTS = 500;
const DEFAULT_MIN_POINTS = 50;

/** Per-family forecast quality over a rolling window, with the fallback switch. */
export class ForecastQualityTracker {
  private readonly families = new Map<string, FamilyWindow>();
  private readonly windowPoints: number;
  private readonly windowMs: number;
  private readonly minPoints: number;
  private readonly fallbackAfterMs: number;

  /** Throws `RangeError` on settings that cannot work (e.g. `windowPoints` of 0). */
  constructor(options: ForecastQualityOptions) {
    const windowPoints = options.windowPoints ?? DEFAULT_WINDOW_POINTS;
    if (!Number.isInteger(windowPoints) || windowPoints < 1) {
      throw new RangeError(`windowPoints must be a positive integer, got ${windowPoints}`);
    }
    const minPoints = options.minPoints ?? Math.min(DEFAULT_MIN_POINTS, windowPoints);
    if (!Number.isInteger(minPoints) || minPoints < 1 || minPoints > windowPoints) {
      throw new RangeError(
        `minPoints must be an integer in [1, windowPoints = ${windowPoints}], got ${minPoints}`,
      );
    }
    const windowMs = options.windowMs ?? Infinity;
    if (!(windowMs > 0)) {
      throw new RangeError(`windowMs must be greater than 0, got ${windowMs}`);
    }
    if (!(options.fallbackAfterMs >= 0) || !Number.isFinite(options.fallbackAfterMs)) {
      throw new RangeError(
        `fallbackAfterMs must be a non-negative number of milliseconds, got ${options.fallbackAfterMs}`,
      );
    }
    this.windowPoints = windowPoints;
    this.minPoints = minPoints;
    this.windowMs = windowMs;
    this.fallbackAfterMs = options.fallbackAfterMs;
  }

  /**
   * Adds one scored point and re-judges its family. A point with a non-finite value or a
   * horizon that is not a positive integer is counted in `skipped` and otherwise ignored:
   * a staleness marker or a model that emitted NaN must not poison the window.
   */
  record(point: ScoredForecast): FallbackTransition {
    let window = this.families.get(point.family);
    if (window === undefined) {
      window = new FamilyWindow(this.windowPoints);
      this.families.set(point.family, window);
    }
    const { horizonSteps: h, predictedMedian, predictedUpper, actual, naive, atMs } = point;
    if (
      !Number.isInteger(h) ||
      h < 1 ||
      ![predictedMedian, predictedUpper, actual, naive, atMs].every(Number.isFinite)
    ) {
      window.skipped++;
      return undefined;
    }
    window.push(
      Math.abs(actual - predictedMedian),
      Math.abs(actual - naive),
      actual <= predictedUpper,
      h,
      atMs,
    );
    window.evictOlderThan(window.newestMs - this.windowMs);
    return this.judge(window);
  }

  /** True while predictive triggers are off for `family`; false for a family never scored. */
  isFallback(family: string): boolean {
    return this.families.get(family)?.fallback ?? false;
  }

  /** The family's rolling quality; `undefined` for a family never scored. */
  stats(family: string): FamilyQuality | undefined {
    const window = this.families.get(family);
    return window === undefined ? undefined : window.quality(family);
  }

  /** Rolling quality of every family scored so far, for metrics. */
  allStats(): FamilyQuality[] {
    return [...this.families].map(([family, window]) => window.quality(family));
  }

  private judge(window: FamilyWindow): FallbackTransition {
    if (window.size < this.minPoints) return undefined;
    const ratio = ratioOf(window.sumModel, window.sumNaive);
    // Time only moves forward here, even if a late point arrives.
    const nowMs = window.newestMs;
    const against = window.fallback ? ratio < 1 : ratio > 1;
    if (!against) {
      window.pendingSinceMs = undefined;
      return undefined;
    }
    window.pendingSinceMs ??= nowMs;
    if (nowMs - window.pendingSinceMs < this.fallbackAfterMs) return undefined;
    window.pendingSinceMs = undefined;
    window.fallback = !window.fallback;
    window.fallbackSinceMs = window.fallback ? nowMs : undefined;
    return window.fallback ? 'entered' : 'left';
  }
}

function ratioOf(sumModel: number, sumNaive: number): number {
  if (sumNaive > 0) return sumModel / sumNaive;
  return sumModel > 0 ? Infinity : 1;
}

/**
 * One family's ring buffer of scored points with running sums (overall and per horizon).
 * Running sums drift by rounding as points come and go, so they are recomputed from the
 * buffer once per full turn of the ring.
 */
class FamilyWindow {
  readonly modelError: Float64Array;
  readonly naiveError: Float64Array;
  readonly covered: Uint8Array;
  readonly horizon: Uint32Array;
  readonly atMs: Float64Array;
  head = 0;
  size = 0;
  sumModel = 0;
  sumNaive = 0;
  coveredCount = 0;
  /** Per horizon `h` (index h), grown on demand. */
  sumModelByH = new Float64Array(0);
  sumNaiveByH = new Float64Array(0);
  countByH = new Uint32Array(0);
  newestMs = -Infinity;
  skipped = 0;
  fallback = false;
  fallbackSinceMs: number | undefined = undefined;
  /** Event time since which the ratio has been against the current state. */
  pendingSinceMs: number | undefined = undefined;
  private evictionsSinceRecompute = 0;

  constructor(readonly capacity: number) {
    this.modelError = new Float64Array(capacity);
    this.naiveError = new Float64Array(capacity);
    this.covered = new Uint8Array(capacity);
    this.horizon = new Uint32Array(capacity);
    this.atMs = new Float64Array(capacity);
  }

  push(modelError: number, naiveError: number, covered: boolean, h: number, atMs: number): void {
    if (this.size === this.capacity) this.evictOldest();
    const at = (this.head + this.size) % this.capacity;
    this.modelError[at] = modelError;
    this.naiveError[at] = naiveError;
    this.covered[at] = covered ? 1 : 0;
    this.horizon[at] = h;
    this.atMs[at] = atMs;
    this.size++;
    if (h >= this.countByH.length) this.growHorizons(h + 1);
    this.sumModel += modelError;
    this.sumNaive += naiveError;
    this.coveredCount += covered ? 1 : 0;
    (this.sumModelByH[h] as number) += modelError;
    (this.sumNaiveByH[h] as number) += naiveError;
    (this.countByH[h] as number)++;
    if (atMs > this.newestMs) this.newestMs = atMs;
  }

  /** Drops points from the oldest end while they are older than `cutoffMs`. */
  evictOlderThan(cutoffMs: number): void {
    while (this.size > 0 && (this.atMs[this.head] as number) < cutoffMs) this.evictOldest();
  }

  private evictOldest(): void {
    const at = this.head;
    const h = this.horizon[at] as number;
    // Clamped: rounding must not leave a "negative" error sum when the true sum is 0.
    this.sumModel = Math.max(0, this.sumModel - (this.modelError[at] as number));
    this.sumNaive = Math.max(0, this.sumNaive - (this.naiveError[at] as number));
    this.coveredCount -= this.covered[at] as number;
    (this.sumModelByH[h] as number) -= this.modelError[at] as number;
    (this.sumNaiveByH[h] as number) -= this.naiveError[at] as number;
    (this.countByH[h] as number)--;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    if (++this.evictionsSinceRecompute >= this.capacity) this.recompute();
  }

  private recompute(): void {
    this.evictionsSinceRecompute = 0;
    this.sumModel = 0;
    this.sumNaive = 0;
    this.coveredCount = 0;
    this.sumModelByH.fill(0);
    this.sumNaiveByH.fill(0);
    this.countByH.fill(0);
    for (let i = 0; i < this.size; i++) {
      const at = (this.head + i) % this.capacity;
      const h = this.horizon[at] as number;
      const model = this.modelError[at] as number;
      const naive = this.naiveError[at] as number;
      this.sumModel += model;
      this.sumNaive += naive;
      this.coveredCount += this.covered[at] as number;
      (this.sumModelByH[h] as number) += model;
      (this.sumNaiveByH[h] as number) += naive;
      (this.countByH[h] as number)++;
    }
  }

  private growHorizons(length: number): void {
    const model = new Float64Array(length);
    const naive = new Float64Array(length);
    const count = new Uint32Array(length);
    model.set(this.sumModelByH);
    naive.set(this.sumNaiveByH);
    count.set(this.countByH);
    this.sumModelByH = model;
    this.sumNaiveByH = naive;
    this.countByH = count;
  }

  quality(family: string): FamilyQuality {
    const n = this.size;
    const byHorizon: HorizonQuality[] = [];
    this.countByH.forEach((points, h) => {
      if (points > 0) {
        byHorizon.push({
          horizonSteps: h,
          points,
          ratio: ratioOf(this.sumModelByH[h] as number, this.sumNaiveByH[h] as number),
        });
      }
    });
    return {
      family,
      points: n,
      skipped: this.skipped,
      modelMae: n === 0 ? NaN : this.sumModel / n,
      naiveMae: n === 0 ? NaN : this.sumNaive / n,
      ratio: n === 0 ? NaN : ratioOf(this.sumModel, this.sumNaive),
      upperCoverage: n === 0 ? NaN : this.coveredCount / n,
      fallback: this.fallback,
      fallbackSinceMs: this.fallbackSinceMs,
      byHorizon,
    };
  }
}
