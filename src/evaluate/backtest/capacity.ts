/**
 * The simulated target's capacity model: `specReplicas` asked for, of which those started
 * `startupDelayMs` ago or earlier are ready and serve `capacityPerReplica` each. Pure: time is
 * passed in, and the model only moves forward.
 */
export class SimulatedTarget {
  private spec: number;
  private ready: number;
  /** Ready times (ms) of the replicas still starting, ascending. */
  private starting: number[] = [];

  constructor(
    initialReplicas: number,
    private readonly startupDelayMs: number,
  ) {
    this.spec = initialReplicas;
    this.ready = initialReplicas;
  }

  /** Replicas asked for (ready and starting): what is paid for. */
  get specReplicas(): number {
    return this.spec;
  }

  /** Replicas serving demand. */
  get readyReplicas(): number {
    return this.ready;
  }

  /**
   * Sets the replica count at `nowMs`. Scale-out starts new replicas (ready after the start-up
   * delay); scale-in removes starting replicas first, newest first — they serve nothing yet —
   * then ready ones, at once.
   */
  scaleTo(desired: number, nowMs: number): void {
    this.promote(nowMs);
    if (desired > this.spec) {
      for (let i = this.spec; i < desired; i++) this.starting.push(nowMs + this.startupDelayMs);
    } else {
      let remove = this.spec - desired;
      while (remove > 0 && this.starting.length > 0) {
        this.starting.pop();
        remove--;
      }
      this.ready -= remove;
    }
    this.spec = desired;
  }

  /**
   * Runs the target through `[fromMs, toMs)` at a constant `demand`: how long demand exceeded
   * the ready capacity (the SLO violation) and the replica-milliseconds paid for (starting
   * replicas cost as much as ready ones).
   */
  runInterval(
    fromMs: number,
    toMs: number,
    demand: number,
    capacityPerReplica: number,
  ): { violationMs: number; replicaMs: number } {
    let violationMs = 0;
    let at = fromMs;
    this.promote(at);
    while (at < toMs) {
      const next = Math.min(toMs, this.starting[0] ?? Number.POSITIVE_INFINITY);
      if (demand > this.ready * capacityPerReplica) violationMs += next - at;
      at = next;
      this.promote(at);
    }
    return { violationMs, replicaMs: this.spec * (toMs - fromMs) };
  }

  private promote(nowMs: number): void {
    while (this.starting.length > 0 && (this.starting[0] as number) <= nowMs) {
      this.starting.shift();
      this.ready++;
    }
  }
}
