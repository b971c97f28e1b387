import { z } from 'zod';

/**
 * NAB application profiles: the weights of the cost matrix. A_TN is part of NAB's published
 * matrix but true negatives contribute 0 to the score in NAB's scorer, so it is carried for
 * completeness and read nowhere.
 */
export const NabProfileSchema = z.object({
  /** Weight of a detected window (earned in full by a detection on its first row). */
  tpWeight: z.number().positive(),
  /** Weight of a detection outside every window (scaled by the sigmoid, so ≤ its cost). */
  fpWeight: z.number().nonnegative(),
  /** Weight of a correctly silent row: unused by NAB's scoring (always 0 contribution). */
  tnWeight: z.number().nonnegative(),
  /** Cost of a window with no detection. */
  fnWeight: z.number().nonnegative(),
});
export type NabProfile = z.infer<typeof NabProfileSchema>;

/** Names of NAB's three published profiles. */
export const NabProfileNameSchema = z.enum(['standard', 'reward_low_FP', 'reward_low_FN']);
export type NabProfileName = z.infer<typeof NabProfileNameSchema>;

/** NAB's published profiles (A_TP, A_FP, A_TN, A_FN). */
export const NAB_PROFILES: Readonly<Record<NabProfileName, NabProfile>> = Object.freeze({
  standard: { tpWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0, fnWeight: 1.0 },
  reward_low_FP: { tpWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0, fnWeight: 1.0 },
  reward_low_FN: { tpWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0, fnWeight: 2.0 },
});
