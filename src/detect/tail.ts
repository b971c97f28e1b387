/**
 * Upper tail of the standard normal, P(Z > z), accurate in relative terms far into the tail
 * (Abramowitz & Stegun 7.1.26 written as erfc, so no `1 − erf` cancellation): the detector
 * ranks events by tails down to 1e-10, where `1 − erf` would already be 0.
 */
export function normalTail(z: number): number {
  if (z < 0) return 1 - normalTail(-z);
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return 0.5 * poly * Math.exp(-x * x);
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

/**
 * Φ⁻¹(p): the standard normal quantile, by bisection on {@link normalTail}. Slow (60
 * iterations) but called once per set of forecast quantile levels, not per sample.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability in (0, 1) is needed, got ${p}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (1 - normalTail(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
