import { sortedQuantile } from '../../training/baselines.js';
import type { SimulationSettings } from './settings.js';
import type { DemandTrace, StrategyRun } from './simulate.js';

/** Look this far ahead for the demand an action's old capacity could not have served. */
export const LEAD_LOOKAHEAD_MS = 60 * 60_000;

/** The figures of one strategy on one trace. */
export interface StrategySummary {
  readonly id: string;
  readonly label: string;
  /** Minutes during which demand exceeded the ready capacity. */
  readonly violationMinutes: number;
  /** Replicas asked for (ready or starting) integrated over time: the cost. */
  readonly replicaMinutes: number;
  readonly scalingActions: number;
  readonly scaleUps: number;
  /**
   * Scale-ups taken while the old capacity still served the demand, before demand crossed it
   * (within an hour): how early they came.
   */
  readonly preemptive: {
    readonly count: number;
    readonly medianLeadMinutes: number | null;
    /** Of those, the ones at least the start-up delay ahead (capacity ready in time). */
    readonly inTime: number;
  };
  /**
   * Scale-ups taken while the old capacity served the demand, after which demand did not
   * exceed it within an hour (or before the trace ended): capacity paid for that the SLO did
   * not need — false alarms, for a predictive scaler.
   */
  readonly unneededScaleUps: number;
}

/** Whether healcast predictive met the issue's target against the HPA on one trace. */
export interface TargetCheck {
  /** healcast predictive's violation minutes over HPA's (target <= 0.5); null when HPA has none. */
  readonly violationRatio: number | null;
  /** healcast predictive's replica-minutes over HPA's (target <= 1.05). */
  readonly costRatio: number;
  /** The violation bound holds (with no HPA violations: healcast had none either). */
  readonly violationsOk: boolean;
  /** The cost bound holds. */
  readonly costOk: boolean;
  readonly met: boolean;
  /** In words, with the margin or the miss. */
  readonly verdict: string;
}

/**
 * The scale-ups of a run taken while the old capacity still served the demand: the lead times
 * (ms) of those after which demand crossed the old capacity within {@link LEAD_LOOKAHEAD_MS}
 * (see `StrategySummary.preemptive`), and how many others it never crossed in that time.
 */
export function scaleUpOutcomes(
  run: StrategyRun,
  trace: DemandTrace,
  capacityPerReplica: number,
): { leadsMs: number[]; unneeded: number } {
  const leads: number[] = [];
  let unneeded = 0;
  let i = 0;
  for (const action of run.actions) {
    if (action.toReplicas <= action.fromReplicas) continue;
    // The step the action was taken at the end of, or, for a polling strategy's sync
    // between reports, the step being served then.
    while (i < trace.timesMs.length && (trace.timesMs[i] as number) + trace.stepMs < action.atMs) {
      i++;
    }
    const oldCapacity = action.fromReplicas * capacityPerReplica;
    if ((trace.demand[i] as number) > oldCapacity) continue;
    let crossed = false;
    for (let j = i + 1; j < trace.demand.length; j++) {
      const atMs = trace.timesMs[j] as number;
      if (atMs - action.atMs > LEAD_LOOKAHEAD_MS) break;
      if ((trace.demand[j] as number) > oldCapacity) {
        leads.push(atMs - action.atMs);
        crossed = true;
        break;
      }
    }
    if (!crossed) unneeded++;
  }
  return { leadsMs: leads, unneeded };
}

/** The figures of one run. */
export function summarize(
  run: StrategyRun,
  trace: DemandTrace,
  settings: SimulationSettings,
): StrategySummary {
  let violationMs = 0;
  for (const v of run.violationMs) violationMs += v;
  const { leadsMs: leads, unneeded } = scaleUpOutcomes(run, trace, settings.capacityPerReplica);
  const med =
    leads.length === 0
      ? null
      : sortedQuantile(
          [...leads].sort((a, b) => a - b),
          0.5,
        );
  return {
    id: run.id,
    label: run.label,
    violationMinutes: violationMs / 60_000,
    replicaMinutes: run.replicaMs / 60_000,
    scalingActions: run.actions.length,
    scaleUps: run.actions.filter((a) => a.toReplicas > a.fromReplicas).length,
    preemptive: {
      count: leads.length,
      medianLeadMinutes: med === null ? null : med / 60_000,
      inTime: leads.filter((l) => l >= settings.startupDelay).length,
    },
    unneededScaleUps: unneeded,
  };
}

/** The issue's bounds: healcast's violation minutes and replica-minutes over the HPA's. */
export const TARGET_VIOLATION_RATIO = 0.5;
export const TARGET_COST_RATIO = 1.05;

/** How many percentage points `ratio` is over `bound`, one decimal (`"2.6"`). */
export function pointsOver(ratio: number, bound: number): string {
  return (100 * (ratio - bound)).toFixed(1);
}

/** The issue's target: at most half of HPA's violation minutes at no more than 105 % of its cost. */
export function checkTarget(healcast: StrategySummary, hpa: StrategySummary): TargetCheck {
  const costRatio = healcast.replicaMinutes / hpa.replicaMinutes;
  const violationRatio =
    hpa.violationMinutes > 0 ? healcast.violationMinutes / hpa.violationMinutes : null;
  const violationsOk =
    violationRatio === null
      ? healcast.violationMinutes === 0
      : violationRatio <= TARGET_VIOLATION_RATIO;
  const costOk = costRatio <= TARGET_COST_RATIO;
  const parts = [
    violationRatio === null
      ? `HPA had no violation; healcast ${healcast.violationMinutes.toFixed(1)} min`
      : `violations ${(100 * violationRatio).toFixed(1)} % of HPA's (target <= ${100 * TARGET_VIOLATION_RATIO} %: ${violationsOk ? 'met' : `missed by ${pointsOver(violationRatio, TARGET_VIOLATION_RATIO)} points`})`,
    `cost ${(100 * costRatio).toFixed(1)} % of HPA's (target <= ${100 * TARGET_COST_RATIO} %: ${costOk ? 'met' : `missed by ${pointsOver(costRatio, TARGET_COST_RATIO)} points`})`,
  ];
  return {
    violationRatio,
    costRatio,
    violationsOk,
    costOk,
    met: violationsOk && costOk,
    verdict: `${violationsOk && costOk ? 'met' : 'missed'}: ${parts.join('; ')}`,
  };
}

/** One Markdown table row per strategy. */
export function markdownTable(summaries: readonly StrategySummary[]): string {
  const lines = [
    '| strategy | SLO violation (min) | replica-minutes | scaling actions | pre-emptive scale-ups (in time) | median lead (min) | unneeded scale-ups |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.label} | ${s.violationMinutes.toFixed(1)} | ${Math.round(s.replicaMinutes)} | ${s.scalingActions} | ${s.preemptive.count} (${s.preemptive.inTime}) | ${s.preemptive.medianLeadMinutes === null ? '–' : s.preemptive.medianLeadMinutes.toFixed(1)} | ${s.unneededScaleUps} |`,
    );
  }
  return lines.join('\n');
}
