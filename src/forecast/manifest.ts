import { z } from 'zod';
import { FeatureSpecSchema } from './features.js';

/** Evaluation of a model or baseline on the validation part, per horizon step and overall. */
export const EvaluationSchema = z.strictObject({
  /** Mean absolute scaled error per horizon step (1-step naive in-sample scale). */
  masePerStep: z.array(z.number()),
  /** Mean pinball loss over steps and quantiles, in normalised units. */
  pinball: z.number().nullable(),
  /** Share of actuals at or below the upper quantile (target: that quantile, e.g. 0.9). */
  upperCoverage: z.number().nullable(),
});

/** Breach detection quality on validation: thresholds crossed that were not already crossed. */
export const BreachEvaluationSchema = z.strictObject({
  threshold: z.string(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  /** Median minutes between the first alarm and the breach, for breaches caught. */
  medianLeadMinutes: z.number().nullable(),
  breaches: z.number().int(),
  alarms: z.number().int(),
});

/**
 * The manifest written next to every saved model (`manifest.json`): everything needed to use
 * the model correctly and to judge it. Validated on load; a model whose manifest does not
 * parse is not loaded.
 */
export const ModelManifestSchema = z.strictObject({
  schema: z.literal('healcast.model/v1'),
  version: z.string().min(1),
  createdAt: z.string(),
  /** healcast version and git commit that trained it. */
  codeVersion: z.string(),
  spec: FeatureSpecSchema,
  architecture: z.strictObject({
    kind: z.literal('mlp-quantile'),
    hidden: z.array(z.number().int().positive()),
  }),
  training: z.strictObject({
    backend: z.string(),
    seed: z.number().int(),
    epochs: z.number().int(),
    batchSize: z.number().int(),
    learningRate: z.number(),
    trainWindows: z.number().int(),
    validationWindows: z.number().int(),
    seconds: z.number(),
    /** Validation share of each series (the time-ordered tail). */
    validationFraction: z.number(),
  }),
  /** sha256 over the training data as read (series names, timestamps, values). */
  dataFingerprint: z.string(),
  /** The data the model was trained on: name, rows, step. */
  data: z.array(z.strictObject({ name: z.string(), rows: z.number().int(), stepMs: z.number() })),
  /** Validation results of the model and of each baseline, by name. */
  evaluation: z.record(z.string(), EvaluationSchema),
  breaches: z.array(BreachEvaluationSchema).default([]),
  /** Whether it beat the naive forecast on validation (the promotion rule). */
  beatsNaive: z.boolean(),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
