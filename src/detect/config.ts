import { z } from 'zod';
import { DurationMs } from '../config/duration.js';

/**
 * Settings of the streaming anomaly detector (src/detect/detector.ts). One parameter set for
 * every series: the detector normalises each series against its own history, so nothing here
 * is per series or per metric. Counts are in samples because the detector is step-agnostic;
 * only the seasonal lag is a duration (a day is a day whatever the step).
 */
export const DetectorConfigSchema = z
  .object({
    /**
     * Metric names whose series use the rich detector; `"*"` for every series. The others keep
     * the plain EWMA score, which costs nothing extra per sample (the rich detector keeps a
     * season of values per series, and forecasts when a model is loaded).
     */
    metrics: z.array(z.string().min(1)).default([]),
    /** Samples scored 0 while the detector learns what normal looks like. */
    warmupSamples: z.number().int().min(1).default(150),
    /** Span (samples) of the fast mean compared with the slow one (level shifts). */
    fastSamples: z.number().int().min(1).default(6),
    /** Span (samples) of the slow mean and variance (the long-run level). */
    slowSamples: z.number().int().min(2).default(1_000),
    /**
     * Lag of the seasonal comparison: the value one period ago. Disabled (0) or when the
     * season would need more than `maxSeasonSamples` values per series.
     */
    seasonMs: DurationMs.default(86_400_000),
    /** Most values kept per series for the seasonal comparison (bounds memory). */
    maxSeasonSamples: z.number().int().min(0).default(2_016),
    /**
     * Weight of the level-shift term (fast against slow mean, in slow σ) in the raw surprise;
     * 0 leaves level shifts to the predictors and the novelty term.
     */
    shiftWeight: z.number().min(0).default(0.25),
    /**
     * Weight of the novelty term: how far the value lies outside the range of the recent
     * history (edges decaying over `historySamples`), in slow σ, log-compressed.
     */
    noveltyWeight: z.number().min(0).default(1.5),
    /** Samples either side of "one season ago" whose range the seasonal predictor allows. */
    seasonJitterSamples: z.number().int().min(0).default(0),
    /** Span (samples) of the long-run distribution of raw scores. */
    historySamples: z.number().int().min(10).default(4_000),
    /**
     * Share of the long-run distribution of raw surprise above the peaks-over-threshold level:
     * rarer surprises get an exponential tail fitted to those peaks.
     */
    peaksRatio: z.number().gt(0).lt(1).default(0.02),
    /**
     * After a score, later scores below it are scaled by this ratio until the held peak has
     * decayed: one event, one detection (repeated detections of one event are false alarms).
     */
    suppressRatio: z.number().min(0).max(1).default(0.5),
    /** Samples in which the held peak halves. */
    suppressHalfLifeSamples: z.number().positive().default(200),
  })
  .strict();

/** Validated detector settings (`seasonMs` in milliseconds after parsing). */
export type DetectorConfig = z.output<typeof DetectorConfigSchema>;

/**
 * The defaults: one parameter set for every series, chosen on NAB's artificial files plus half of
 * its AWS files and checked on the other half (see `healcast nab`).
 */
export const DEFAULT_DETECTOR_CONFIG: DetectorConfig = DetectorConfigSchema.parse({});
