/** What a scaler sees at the end of each step of the replay. */
export interface StepObservation {
  /** Start of the step that just ended (its samples' event time), ms. */
  readonly stepStartMs: number;
  /** End of the step: when the scaler sees it and may act, ms. */
  readonly nowMs: number;
  readonly stepMs: number;
  /** Demand during the step (requests per step unit, or CPU units). */
  readonly demand: number;
  /**
   * The metric every scaler watches: demand over the capacity of all replicas asked for, in
   * percent — what the HPA computes for CPU, where starting pods count as idle.
   */
  readonly utilizationPercent: number;
  readonly specReplicas: number;
  readonly readyReplicas: number;
}

/** A scaler's decision at the end of a step. */
export interface ScaleDecision {
  /** The replica count to set now (different from the current one). */
  readonly toReplicas: number;
  /** Why, in one word (`reactive`, `predictive`, `hpa`, `forecast`), for markers. */
  readonly trigger: string;
}

/**
 * A scaling strategy replayed by the backtest: one observation per step, in order, at the end
 * of the step — and, for a controller that polls rather than reacts to each new sample, again
 * every `syncPeriodMs` until the next step ends.
 */
export interface ScalingStrategy {
  /** Stable id (`healcast_predictive`, `hpa`, …). */
  readonly id: string;
  /** For tables and charts. */
  readonly label: string;
  /**
   * A polling controller's period (the HPA syncs every 15 s): between two steps it is asked
   * again at each period with the latest step it has seen (same demand, `nowMs` the sync time,
   * utilisation over the replicas asked for at that time). Unset: once per step.
   */
  readonly syncPeriodMs?: number;
  observe(observation: StepObservation): ScaleDecision | undefined;
}
