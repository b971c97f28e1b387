import type { DetectorConfig } from './config.js';
import { SurpriseHistogram } from './surpriseHistogram.js';
import { tailScore } from './tail.js';

/** The forecast's quantile band for the time of a sample (made one step before it). */
export interface ForecastBand {
  /** Lowest quantile (p10 for the shipped model). */
  readonly lower: number;
  readonly median: number;
  /** Highest quantile (p90). */
  readonly upper: number;
  /** Distance between the lower and upper quantile in standard normal units (2.563 for p10–p90). */
  readonly spreadZ: number;
}

/** One sample as the detector sees it: value, and what the other stages said about it. */
export interface DetectorInput {
  readonly value: number;
  readonly tsMs: number;
  /** |value − EWMA mean| / σ from the baseline (0 while the baseline warms up). */
  readonly baselineZ: number;
  /** The forecast for this sample's time, when the series is forecast. */
  readonly band?: ForecastBand | undefined;
}

/** Floor of every scale (relative to the level, and absolute): flat series have none. */
const MIN_SCALE_RATIO = 1e-3;
const MIN_SCALE_ABS = 1e-9;

/** Seasonal changes seen before the seasonal term is trusted. */
const SEASON_WARMUP = 30;

/** 1 / E|X| for a standard normal X: turns a mean absolute deviation into a σ. */
const SIGMA_PER_MAD = Math.sqrt(Math.PI / 2);

/**
 * The streaming anomaly detector of one series: causal, one pass, bounded memory (a season of
 * values, its surprises' histogram and a few numbers). Per sample:
 * 1. Prediction error: the smallest of the z-distances from what the stages predicted — the
 *    EWMA baseline (the worker's own score), the forecast median in units of its p10–p90 band
 *    (when the series is forecast), and the value one season ago in units of its usual change.
 *    The smallest, because a sample one predictor explains (a daily jump the season saw
 *    coming) is not an anomaly.
 * 2. Change in behaviour: the larger of that and a level shift (fast against slow mean, in slow
 *    σ), plus a novelty term when the value leaves the range of the recent history.
 * 3. Score: how rare that raw surprise is in the series' own history (HTM's anomaly-likelihood
 *    idea, with an empirical histogram and a peaks-over-threshold tail instead of a Gaussian),
 *    on a log scale, so one threshold fits every series.
 * 4. A held peak damps later, smaller scores of the same event: one event, one detection.
 */
export class SeriesDetector {
  private count = 0;
  private firstTsMs = NaN;
  private fastMean = 0;
  private slowMean = 0;
  private slowVar = 0;
  /** Values of the last season, by sample (a ring); empty until the step is known. */
  private season: Float64Array | undefined;
  private seasonMad = 0;
  private seasonSeen = 0;
  private held = 0;
  /** Range of the values seen, each edge decaying towards the slow mean (recent history). */
  private high = -Infinity;
  private low = Infinity;
  private readonly history: SurpriseHistogram;
  private readonly fastAlpha: number;
  private readonly slowAlpha: number;
  private readonly historyAlpha: number;
  private readonly holdDecay: number;

  constructor(private readonly config: DetectorConfig) {
    this.fastAlpha = 2 / (config.fastSamples + 1);
    this.slowAlpha = 2 / (config.slowSamples + 1);
    this.historyAlpha = 2 / (config.historySamples + 1);
    this.holdDecay = Math.pow(0.5, 1 / config.suppressHalfLifeSamples);
    this.history = new SurpriseHistogram(1 - this.historyAlpha, config.peaksRatio);
  }

  /** Scores one sample (in [0, 1]) against the state before it, then learns from it. */
  score(input: DetectorInput): number {
    const { value } = input;
    const n = this.count;
    if (n === 0) {
      this.firstTsMs = input.tsMs;
      this.fastMean = value;
      this.slowMean = value;
    } else if (n === 1) {
      this.startSeason(input.tsMs - this.firstTsMs);
    }
    const raw = this.surprise(input);
    this.learn(value);

    // How often the series has been this surprised before (history before this sample).
    // The warm-up's surprises are learnt too, on purpose: the second sample's (its scale learnt
    // from one value, 0–21 in NAB's files) stays in the history as a fading heavy-tail prior, so
    // the early histogram does not call every moderate surprise rare. Leaving samples 0–1 out
    // cost 4.6 NAB points, and the deliberate priors tried instead cost more (BENCHMARKS.md,
    // "NAB, a second error analysis").
    const tail = this.history.tail(raw);
    this.history.add(raw);
    this.count = n + 1;
    if (n < this.config.warmupSamples) return 0;

    const score = tailScore(tail);
    const held = this.held;
    this.held = Math.max(held * this.holdDecay, score);
    return score > held ? score : score * this.config.suppressRatio;
  }

  /**
   * The raw surprise of a sample (steps 1 and 2 above): log1p keeps one huge z from
   * flattening the rest of the history.
   */
  private surprise(input: DetectorInput): number {
    const { value } = input;
    const floor = Math.max(MIN_SCALE_ABS, MIN_SCALE_RATIO * Math.abs(this.slowMean));
    let z = input.baselineZ;
    const band = input.band;
    if (band !== undefined) {
      const sigma = Math.max((band.upper - band.lower) / band.spreadZ, floor);
      z = Math.min(z, Math.abs(value - band.median) / sigma);
    }
    const season = this.season;
    if (season !== undefined && this.seasonSeen >= season.length + SEASON_WARMUP) {
      const scale = Math.max(this.seasonMad * SIGMA_PER_MAD, floor);
      z = Math.min(z, this.seasonResidual(value, this.config.seasonJitterSamples) / scale);
    }
    // The level shift and the novelty term are both in slow σ.
    const slowStd = Math.max(Math.sqrt(this.slowVar), floor);
    if (this.config.shiftWeight > 0) {
      const fast = this.fastMean + this.fastAlpha * (value - this.fastMean);
      z = Math.max(z, (this.config.shiftWeight * Math.abs(fast - this.slowMean)) / slowStd);
    }
    let novelty = 0;
    if (this.count > 0) {
      const outside = Math.max(0, value - this.high, this.low - value);
      novelty = this.config.noveltyWeight * Math.log1p(outside / slowStd);
    }
    return Math.log1p(z) + novelty;
  }

  private learn(value: number): void {
    this.fastMean += this.fastAlpha * (value - this.fastMean);
    // Bias-corrected start (1/k while k is small): the first values set the scale instead of
    // a zero that would make everything look like an anomaly.
    const slowAlpha = Math.max(this.slowAlpha, 1 / (this.count + 1));
    const d = value - this.slowMean;
    this.slowMean += slowAlpha * d;
    this.slowVar = (1 - slowAlpha) * (this.slowVar + slowAlpha * d * d);
    const rangeAlpha = this.historyAlpha;
    this.high = value > this.high ? value : this.high - rangeAlpha * (this.high - this.slowMean);
    this.low = value < this.low ? value : this.low - rangeAlpha * (this.low - this.slowMean);
    const season = this.season;
    if (season !== undefined) {
      const index = this.count % season.length;
      if (this.seasonSeen >= season.length) {
        // The scale is learnt at the exact lag: the jittered residual is smaller by construction,
        // and a scale learnt from it would make every small wobble look large.
        const change = this.seasonResidual(value, 0);
        const alpha = Math.max(this.slowAlpha, 1 / (this.seasonSeen - season.length + 1));
        this.seasonMad += alpha * (change - this.seasonMad);
      }
      season[index] = value;
      this.seasonSeen++;
    }
  }

  /**
   * Distance of `value` from the range of the values one season ago, give or take `jitter`
   * samples: daily jobs do not start at the same minute every day.
   */
  private seasonResidual(value: number, jitter: number): number {
    const season = this.season as Float64Array;
    const length = season.length;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = -jitter; k <= jitter; k++) {
      // Sample n − P + k sits at index (n + k) mod P; k > 0 would be from this season already
      // for k ≥ 1 only after n − P + k ≥ n, which never happens while k < P.
      const past = season[(((this.count + k) % length) + length) % length] as number;
      if (past < lo) lo = past;
      if (past > hi) hi = past;
    }
    return value > hi ? value - hi : value < lo ? lo - value : 0;
  }

  /** Sizes the season ring from the first step; a season too long for the bound is skipped. */
  private startSeason(stepMs: number): void {
    if (!(stepMs > 0) || this.config.seasonMs <= 0) return;
    const samples = Math.round(this.config.seasonMs / stepMs);
    if (samples >= 2 && samples <= this.config.maxSeasonSamples) {
      this.season = new Float64Array(samples);
      // The first value arrived before the step was known.
      this.season[0] = this.slowMean;
      this.seasonSeen = 1;
    }
  }
}
