import { erfc, normalQuantile as acklamQuantile } from '../predict/breachProbability.js';

/**
 * Upper tail of the standard normal, P(Z > z), accurate in relative terms far into the tail
 * (from erfc, so no `1 − erf` cancellation): the detector ranks events by tails down to 1e-10,
 * where `1 − erf` would already be 0.
 */
export function normalTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Smallest tail told apart: a tail of 1e-10 or less scores 1. */
const TAIL_FLOOR = 1e-10;
const LOG_TAIL_FLOOR = Math.log(TAIL_FLOOR);

/**
 * Maps a tail probability to a score in [0, 1] on a log scale (HTM's log-likelihood): 1e-5
 * scores 0.5, 1e-10 scores 1. A log scale spreads the rare events apart, so one threshold
 * separates "rare" from "very rare" in every series alike.
 */
export function tailScore(tail: number): number {
  const score = Math.log(tail + TAIL_FLOOR) / LOG_TAIL_FLOOR;
  return score <= 0 ? 0 : score >= 1 ? 1 : score;
}

/** Φ⁻¹(p): the standard normal quantile; throws on a p outside (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability in (0, 1) is needed, got ${p}`);
  return acklamQuantile(p);
}
