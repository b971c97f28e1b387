/**
 * Breach tracking and cooldowns: the pure decision of *when* a policy fires.
 *
 * A policy fires for a series when every sample of that series has been on the wrong side of
 * the threshold for at least `durationMs` (event time, so a replay decides exactly as the live
 * run did), and its (policy, target) pair is not cooling down. A sustained breach therefore
 * fires once per cooldown window. A gap longer than `maxGapMs` between breaching samples, or
 * a staleness marker, ends the breach: we cannot claim it lasted through time we did not see.
 */

/** The part of a policy the breach tracker needs. */
export interface BreachRule {
  readonly threshold: number;
  readonly direction: 'above' | 'below';
  /** When true the threshold itself counts as a breach (>= / <=). */
  readonly inclusive: boolean;
  readonly durationMs: number;
  readonly maxGapMs: number;
  readonly cooldownMs: number;
}

/** One series' ongoing breach of one policy. */
interface Breach {
  startMs: number;
  lastMs: number;
  /** Highest value seen during the breach (a field on the record: no allocation per sample). */
  peak: number;
}

/** Outcome of feeding one sample to the tracker. */
export type BreachDecision =
  | { readonly kind: 'ok' }
  | { readonly kind: 'breaching'; readonly startMs: number }
  | { readonly kind: 'cooling_down'; readonly startMs: number; readonly untilMs: number }
  | {
      readonly kind: 'fire';
      readonly startMs: number;
      /**
       * The highest value of the breach since it started or last fired, this sample included.
       * For a `below` breach that is the busiest moment of the quiet spell: what a scale-in
       * must still be able to serve.
       */
      readonly peak: number;
    };

const OK: BreachDecision = { kind: 'ok' };
const MAX_COOLDOWNS_BEFORE_PRUNE = 10_000;

/** True when `value` is on the wrong side of the rule's threshold. */
export function isBreaching(
  rule: Pick<BreachRule, 'threshold' | 'direction' | 'inclusive'>,
  value: number,
): boolean {
  if (rule.direction === 'above') {
    return rule.inclusive ? value >= rule.threshold : value > rule.threshold;
  }
  return rule.inclusive ? value <= rule.threshold : value < rule.threshold;
}

/**
 * Breach state for one policy across all series (by slot), and cooldowns per target.
 * Memory is proportional to the series *currently breaching*, not to all series.
 */
export class BreachTracker {
  private readonly breaches = new Map<number, Breach>();
  /** Event time until which a target may not fire again, by target key. */
  private readonly cooldownUntilMs = new Map<string, number>();

  constructor(readonly rule: BreachRule) {}

  /**
   * Feeds one sample of series `slot` at event time `tsMs`. Returns `fire` when the breach has
   * lasted `durationMs` and `targetKey` is not cooling down; the caller then calls
   * {@link fired} once it takes the fire.
   */
  observe(slot: number, value: number, tsMs: number, targetKey: string): BreachDecision {
    if (!isBreaching(this.rule, value)) {
      this.breaches.delete(slot);
      return OK;
    }
    let breach = this.breaches.get(slot);
    if (breach === undefined || tsMs - breach.lastMs > this.rule.maxGapMs) {
      breach = { startMs: tsMs, lastMs: tsMs, peak: value };
      this.breaches.set(slot, breach);
    }
    breach.lastMs = tsMs;
    if (value > breach.peak) breach.peak = value;
    if (tsMs - breach.startMs < this.rule.durationMs) {
      return { kind: 'breaching', startMs: breach.startMs };
    }
    const untilMs = this.cooldownUntilMs.get(targetKey);
    if (untilMs !== undefined && tsMs < untilMs) {
      return { kind: 'cooling_down', startMs: breach.startMs, untilMs };
    }
    return { kind: 'fire', startMs: breach.startMs, peak: breach.peak };
  }

  /**
   * The caller took the fire `observe` offered for series `slot`: starts the cooldown of
   * `targetKey` from `tsMs` and restarts the breach's peak, so a later fire of the same breach
   * sizes from what came after this one (the fire may resize the target, and older values were
   * measured against the old replica count). A fire the caller vetoes (a deployment gate) keeps
   * the peak: the next fire still covers the whole breach.
   */
  fired(slot: number, targetKey: string, tsMs: number): void {
    const breach = this.breaches.get(slot);
    if (breach !== undefined) breach.peak = Number.NEGATIVE_INFINITY;
    this.startCooldown(targetKey, tsMs);
  }

  /** Starts (or extends) the cooldown of `targetKey` from event time `fromMs`. */
  startCooldown(targetKey: string, fromMs: number): void {
    // Templated targets ({{label}}) can name many targets over time: forget expired ones.
    if (this.cooldownUntilMs.size >= MAX_COOLDOWNS_BEFORE_PRUNE) {
      for (const [key, until] of this.cooldownUntilMs)
        if (until <= fromMs) this.cooldownUntilMs.delete(key);
    }
    const untilMs = fromMs + this.rule.cooldownMs;
    const current = this.cooldownUntilMs.get(targetKey);
    if (current === undefined || untilMs > current) this.cooldownUntilMs.set(targetKey, untilMs);
  }

  /** True when `targetKey` may not fire at event time `tsMs`. */
  isCoolingDown(targetKey: string, tsMs: number): boolean {
    const untilMs = this.cooldownUntilMs.get(targetKey);
    return untilMs !== undefined && tsMs < untilMs;
  }

  /** Ends any breach of `slot` (staleness marker, or the slot was evicted). */
  forget(slot: number): void {
    this.breaches.delete(slot);
  }

  /** Number of targets with a cooldown on record (expired ones are pruned lazily). */
  get cooldownTargets(): number {
    return this.cooldownUntilMs.size;
  }

  /** Number of series currently breaching this policy. */
  get breachingSeries(): number {
    return this.breaches.size;
  }
}
