import { SimulatedTarget } from './capacity.js';
import type { SimulationSettings } from './settings.js';
import type { ScalingStrategy } from './strategy.js';

/** A trace ready to replay: demand per step on one time line (outages cut out). */
export interface DemandTrace {
  readonly name: string;
  readonly stepMs: number;
  /** Start of each step, ms, ascending (jumps where an outage was cut out). */
  readonly timesMs: Float64Array;
  /** Demand during each step (requests per step unit, or CPU units). */
  readonly demand: Float64Array;
}

/** One scaling action of a strategy. */
export interface BacktestAction {
  readonly atMs: number;
  readonly fromReplicas: number;
  readonly toReplicas: number;
  readonly trigger: string;
}

/** What one strategy did over the trace, step by step. */
export interface StrategyRun {
  readonly id: string;
  readonly label: string;
  /** Replicas asked for at the start of each step (a polling strategy may change it mid-step). */
  readonly specReplicas: Int32Array;
  /** Ready replicas at the start of each step. */
  readonly readyReplicas: Int32Array;
  /** Milliseconds of each step during which demand exceeded the ready capacity. */
  readonly violationMs: Float64Array;
  readonly actions: BacktestAction[];
  /** Replicas asked for integrated over time, ms (mid-step changes included). */
  readonly replicaMs: number;
}

/**
 * Trace values to demand: requests are demand as they are; CPU utilisation is that of a fleet
 * of `baseReplicas`, in CPU units (100 per replica at 100 %).
 */
export function demandOf(value: number, settings: SimulationSettings): number {
  const v = value * settings.valueScale;
  return settings.kind === 'cpu' ? v * settings.baseReplicas : v;
}

/**
 * Replays the trace against one simulated target per strategy, all in the same pass. Each
 * step runs in trace order: the target serves the step's demand with what it has (violation and
 * cost accounted), then every strategy sees the step that just ended — as a monitoring system
 * reports it, at its end — and may scale, effective from the next step (new replicas after the
 * start-up delay). A strategy with a `syncPeriodMs` (a polling controller, the HPA) is also
 * asked at each of its syncs in between, about the last step it saw; what it does then takes
 * effect from that moment. `onProgress(done, total)` is called every `progressEvery` steps.
 */
export function simulate(
  trace: DemandTrace,
  settings: SimulationSettings,
  strategies: readonly ScalingStrategy[],
  onProgress?: (done: number, total: number) => void,
  progressEvery = 1000,
): StrategyRun[] {
  const n = trace.demand.length;
  const runs: RunState[] = strategies.map((s) => ({
    strategy: s,
    target: new SimulatedTarget(settings.initialReplicas, settings.startupDelay),
    specReplicas: new Int32Array(n),
    readyReplicas: new Int32Array(n),
    violationMs: new Float64Array(n),
    actions: [] as BacktestAction[],
    replicaMs: 0,
  }));
  const cap = settings.capacityPerReplica;
  for (let i = 0; i < n; i++) {
    const startMs = trace.timesMs[i] as number;
    const endMs = startMs + trace.stepMs;
    const demand = trace.demand[i] as number;
    for (const run of runs) {
      const { target } = run;
      run.readyReplicas[i] = target.readyReplicas;
      run.specReplicas[i] = target.specReplicas;
      let violationMs = 0;
      let atMs = startMs;
      const periodMs = run.strategy.syncPeriodMs;
      // A polling controller acts between reports too, on the last one it saw: the step is
      // served in pieces between its syncs.
      if (periodMs !== undefined && i > 0) {
        for (let syncMs = startMs + periodMs; syncMs < endMs; syncMs += periodMs) {
          const piece = target.runInterval(atMs, syncMs, demand, cap);
          violationMs += piece.violationMs;
          run.replicaMs += piece.replicaMs;
          atMs = syncMs;
          decide(run, trace, i - 1, syncMs, cap);
        }
      }
      const piece = target.runInterval(atMs, endMs, demand, cap);
      run.violationMs[i] = violationMs + piece.violationMs;
      run.replicaMs += piece.replicaMs;
      decide(run, trace, i, endMs, cap);
    }
    if (onProgress !== undefined && ((i + 1) % progressEvery === 0 || i + 1 === n)) {
      onProgress(i + 1, n);
    }
  }
  return runs.map((r) => ({
    id: r.strategy.id,
    label: r.strategy.label,
    specReplicas: r.specReplicas,
    readyReplicas: r.readyReplicas,
    violationMs: r.violationMs,
    actions: r.actions,
    replicaMs: r.replicaMs,
  }));
}

/** One strategy's simulated target and what it did so far. */
interface RunState {
  readonly strategy: ScalingStrategy;
  readonly target: SimulatedTarget;
  readonly specReplicas: Int32Array;
  readonly readyReplicas: Int32Array;
  readonly violationMs: Float64Array;
  readonly actions: BacktestAction[];
  replicaMs: number;
}

/**
 * Shows step `k` of the trace, as monitoring reported it, to the run's strategy at `nowMs` (its
 * end, or a later sync) and applies its decision, effective at once.
 */
function decide(
  run: RunState,
  trace: DemandTrace,
  k: number,
  nowMs: number,
  capacityPerReplica: number,
): void {
  const { target } = run;
  const spec = target.specReplicas;
  const demand = trace.demand[k] as number;
  const decision = run.strategy.observe({
    stepStartMs: trace.timesMs[k] as number,
    nowMs,
    stepMs: trace.stepMs,
    demand,
    utilizationPercent: (100 * demand) / (spec * capacityPerReplica),
    specReplicas: spec,
    readyReplicas: target.readyReplicas,
  });
  if (decision !== undefined && decision.toReplicas !== spec) {
    target.scaleTo(decision.toReplicas, nowMs);
    run.actions.push({
      atMs: nowMs,
      fromReplicas: spec,
      toReplicas: decision.toReplicas,
      trigger: decision.trigger,
    });
  }
}
