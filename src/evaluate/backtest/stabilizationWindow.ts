/**
 * A scale-down stabilization window (the HPA's `behavior.scaleDown.stabilizationWindowSeconds`):
 * the recommendations of the last `windowMs`, so a scale-down goes only as low as the highest of
 * them and a brief dip does not drop capacity. Pure: time is passed in.
 */
export class StabilizationWindow {
  private readonly recommendations: { atMs: number; replicas: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records `replicas` recommended at `nowMs`; returns the highest recommendation in the window. */
  record(nowMs: number, replicas: number): number {
    const recommendations = this.recommendations;
    while (
      recommendations.length > 0 &&
      (recommendations[0] as { atMs: number }).atMs <= nowMs - this.windowMs
    ) {
      recommendations.shift();
    }
    recommendations.push({ atMs: nowMs, replicas });
    let highest = replicas;
    for (const r of recommendations) highest = Math.max(highest, r.replicas);
    return highest;
  }
}
