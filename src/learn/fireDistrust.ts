import { distrustCeiling, type DistrustSettings } from '../policy/schema.js';
import type { PredictionVerdict } from './predictionJudge.js';

/**
 * Verdicts of a fire whose predicted breach came (or, by the judge's heuristic, that stopped a
 * rise that was real): the fire was needed. Only a false alarm counts against the forecast, so
 * where the judge is unsure the series keeps its trust — the cautious side for a learner that
 * can only withhold action.
 */
export function wasNeeded(verdict: PredictionVerdict): boolean {
  return verdict !== 'false_alarm';
}

interface Tally {
  /** Exponentially forgetting sums over judged fires: needed verdicts, claimed probabilities. */
  needed: number;
  claimed: number;
}

/**
 * "Trust is earned, distrust is learnt": the probability threshold of a predictive policy on
 * one series, raised when that series' judged fires were needed less often than the forecast
 * claimed at them (pure).
 *
 * A fire claims P(breach within the horizon) = P; over its judged fires a series' forecast is
 * worth `needed / claimed` (its reliability where it matters, at the fires it caused; 1 for a
 * calibrated forecast). The policy's `probability` is the risk at which acting pays ("act when a
 * breach is at least this likely"); with reliability r < 1 the forecast's P means r·P, so the
 * policy should fire only when P ≥ probability / r. One-sided: a reliability above 1 (fires
 * needed more often than claimed, the usual case for a forecast cautious about rises) leaves the
 * configured probability as it is — lowering it made the NASA-HTTP backtest worse (branch
 * wt-btE, `trigger.predict.adapt`), as the extra fires come where the forecast is least sure.
 * So the threshold never goes below the configured one, nor above `maxFactor` times it, and
 * comes back down as fires prove needed again.
 *
 * Causal by construction: a verdict is recorded when the judge knows it (the breach came, or
 * the horizon ended), so a decision uses only fires already judged. Memory: two numbers per
 * (policy, series), at most `maxKeys` of them (the least recently updated goes first).
 */
export class FireDistrust {
  private readonly tallies = new Map<string, Tally>();
  /** Weight an old verdict keeps per newer one: 2^(−1 / halfLifeFires). */
  private readonly keep: number;

  constructor(
    private readonly settings: DistrustSettings,
    private readonly maxKeys = 10_000,
  ) {
    if (!(settings.halfLifeFires > 0)) throw new RangeError('halfLifeFires must be > 0');
    if (!(settings.priorFires >= 0)) throw new RangeError('priorFires must be >= 0');
    if (!(settings.maxFactor >= 1)) throw new RangeError('maxFactor must be >= 1');
    this.keep = 2 ** (-1 / settings.halfLifeFires);
  }

  /** One judged fire on `key` that claimed `claimedProbability` of a breach. */
  record(key: string, claimedProbability: number, needed: boolean): void {
    const tally = this.tallies.get(key) ?? { needed: 0, claimed: 0 };
    tally.needed = tally.needed * this.keep + (needed ? 1 : 0);
    tally.claimed = tally.claimed * this.keep + claimedProbability;
    // Re-inserted: the Map's order is the order of last update, the eviction order.
    this.tallies.delete(key);
    this.tallies.set(key, tally);
    if (this.tallies.size > this.maxKeys) {
      const oldest = this.tallies.keys().next().value;
      if (oldest !== undefined) this.tallies.delete(oldest);
    }
  }

  /**
   * needed / claimed over the judged fires of `key`, with the prior: `priorFires` fires that
   * each claimed `configured` and were needed that often (so a new series has exactly 1).
   */
  reliability(key: string, configured: number): number {
    const tally = this.tallies.get(key);
    const prior = this.settings.priorFires * configured;
    const needed = (tally?.needed ?? 0) + prior;
    const claimed = (tally?.claimed ?? 0) + prior;
    return claimed > 0 ? needed / claimed : 1;
  }

  /** The probability threshold for `key`'s next decision: never below `configured`. */
  threshold(key: string, configured: number): number {
    const reliability = this.reliability(key, configured);
    if (reliability >= 1) return configured;
    const ceiling = distrustCeiling(configured, this.settings.maxFactor);
    return Math.max(configured, Math.min(ceiling, configured / reliability));
  }

  /** Number of (policy, series) with a tally. */
  get size(): number {
    return this.tallies.size;
  }
}
