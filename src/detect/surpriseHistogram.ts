/** Bins of the histogram: raw surprise log1p(z) from 0 to BIN_COUNT·BIN_WIDTH (z ≈ 4.4e5). */
const BIN_COUNT = 130;
const BIN_WIDTH = 0.1;
/** Weights are rescaled before they overflow (the newest weight grows as 1/decay^t). */
const RESCALE_ABOVE = 1e100;

/**
 * The long-run distribution of one series' raw surprise, with exponential forgetting, in a
 * fixed histogram (bounded memory: BIN_COUNT numbers). It answers "how often was a surprise at
 * least this large?" empirically where data are dense, and beyond a high quantile with a
 * peaks-over-threshold tail (exceedances exponential with their observed mean, as in SPOT,
 * Siffer et al. 2017): a surprise larger than anything seen gets a tail below 1/N that keeps
 * falling with its size, while a surprise the series produces every day (a nightly job)
 * stays as common as it is.
 */
export class SurpriseHistogram {
  private readonly bins = new Float64Array(BIN_COUNT);
  private total = 0;
  /** Weight of the next observation: grows instead of decaying every bin each step. */
  private weight = 1;

  constructor(
    private readonly decay: number,
    /** Probability mass above the peaks-over-threshold level (e.g. 0.02). */
    private readonly peaksRatio: number,
  ) {}

  /** Forgetting-weighted number of observations. */
  get mass(): number {
    return this.total / this.weight;
  }

  /** Adds one observation (≥ 0). */
  add(raw: number): void {
    this.weight /= this.decay;
    const bin = Math.min(BIN_COUNT - 1, Math.max(0, Math.floor(raw / BIN_WIDTH)));
    this.bins[bin] = (this.bins[bin] as number) + this.weight;
    this.total += this.weight;
    if (this.weight > RESCALE_ABOVE) {
      for (let i = 0; i < BIN_COUNT; i++) this.bins[i] = (this.bins[i] as number) / this.weight;
      this.total /= this.weight;
      this.weight = 1;
    }
  }

  /** P(X ≥ raw) under the history (1 when empty). */
  tail(raw: number): number {
    if (this.total <= 0) return 1;
    const bins = this.bins;
    // Walk down from the top: the level above which `peaksRatio` of the mass lies, and the
    // mass and mean excess above it.
    const peakMass = this.peaksRatio * this.total;
    let above = 0;
    let excessSum = 0;
    let level = 0;
    let i = BIN_COUNT - 1;
    for (; i >= 0; i--) {
      const count = bins[i] as number;
      if (above + count > peakMass) break;
      above += count;
      excessSum += count * (i + 0.5) * BIN_WIDTH;
    }
    level = (i + 1) * BIN_WIDTH;
    if (raw < level) {
      // Empirical: mass of the bins at or above raw's bin (half of raw's own bin).
      const bin = Math.max(0, Math.floor(raw / BIN_WIDTH));
      let mass = 0.5 * (bins[bin] as number);
      for (let k = bin + 1; k < BIN_COUNT; k++) mass += bins[k] as number;
      return mass / this.total;
    }
    // Peaks over the level: exponential with the exceedances' mean (at least one bin width,
    // and counting the level's own bin when nothing lies above it yet).
    const meanExcess = above > 0 ? Math.max(BIN_WIDTH, excessSum / above - level) : BIN_WIDTH;
    const levelTail = Math.max(above, 0.5 * (bins[i] ?? 0)) / this.total;
    return Math.max(levelTail, 1 / this.total) * Math.exp(-(raw - level) / meanExcess);
  }
}
