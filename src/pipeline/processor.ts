import { BaselineArrays, observe, type BaselineConfig } from '../baseline/ewma.js';
import { SeriesTable } from '../baseline/seriesTable.js';
import {
  ACTION_SCHEMA_VERSION,
  fireIdOf,
  targetKeyOf,
  type ActionEnvelope,
  type Fire,
} from '../dispatch/envelope.js';
import { decodeMessage } from '../ingest/decode.js';
import type { DecodeLimits } from '../ingest/limits.js';
import type { MetricSample } from '../ingest/sample.js';
import type { SourceRecord } from '../ingest/source.js';
import { BreachTracker, isBreaching } from '../policy/breach.js';
import type { PipelinePolicy } from './pipelinePolicy.js';

/** Settings of the pure processing core. */
export interface ProcessorSettings {
  readonly baseline: BaselineConfig;
  /** Upper bound of series kept in memory; the least recently seen is evicted beyond it. */
  readonly maxSeries: number;
  readonly format: 'auto' | 'json' | 'influx';
  readonly limits: DecodeLimits;
}

/** Settings plus the policies to run. */
export interface ProcessorOptions extends ProcessorSettings {
  readonly policies: readonly PipelinePolicy[];
}

/** Counts of what happened in one batch, turned into metrics and logs at the edge. */
export interface BatchStats {
  messagesOk: number;
  messagesPartial: number;
  messagesDeadLettered: number;
  /** Records re-read to rebuild state after a restart (already handled once). */
  messagesReplayed: number;
  samplesScored: number;
  samplesOutOfOrder: number;
  samplesDuplicate: number;
  samplesStale: number;
  evictions: number;
  /** Breaching samples whose policy target needed a label the series lacks. */
  targetUnresolved: number;
  deadLetterReasons: Map<string, number>;
  /** Newest event time scored (NaN when none). */
  maxEventTimeMs: number;
}

/** A record that must go to the dead-letter place: its index in the batch and why. */
export interface DeadLetterDraft {
  readonly index: number;
  readonly reason: string;
  readonly detail: string;
}

/** Everything one batch produced. Nothing is written anywhere yet: the caller does that. */
export interface BatchResult {
  readonly fires: Fire[];
  readonly deadLetters: DeadLetterDraft[];
  readonly stats: BatchStats;
}

/** Per-series reading kept for inspection (last value, baseline, score). */
export interface SeriesSnapshot {
  readonly series: string;
  readonly lastTsMs: number;
  readonly mean: number;
  readonly stdDev: number;
}

const NO_POLICIES: readonly number[] = [];

/**
 * The pure processing core: raw records in, fires and dead letters out. Decodes each
 * message, scores every sample against its series' EWMA baseline, and feeds the policies
 * that select the series. Holds state (baselines, breaches, in-memory cooldowns) but does no
 * I/O and reads no clock: wall time arrives as `nowMs`, decisions use event time.
 */
export class Processor {
  private readonly table: SeriesTable;
  private readonly baselines: BaselineArrays;
  /** Indices of the policies that select the series in each slot. */
  private readonly policiesOfSlot: (readonly number[])[];
  private readonly trackers: BreachTracker[];
  private readonly policiesByMetric = new Map<string, number[]>();

  constructor(private readonly options: ProcessorOptions) {
    this.table = new SeriesTable(options.maxSeries);
    this.baselines = new BaselineArrays(options.maxSeries);
    this.policiesOfSlot = [];
    this.trackers = options.policies.map((p) => new BreachTracker(p));
    options.policies.forEach((policy, index) => {
      const list = this.policiesByMetric.get(policy.metric) ?? [];
      list.push(index);
      this.policiesByMetric.set(policy.metric, list);
    });
  }

  /** Number of series with state in memory. */
  get liveSeries(): number {
    return this.table.size;
  }

  /** Series currently breaching, per policy name. */
  breachingSeries(): Map<string, number> {
    const out = new Map<string, number>();
    this.options.policies.forEach((p, i) =>
      out.set(p.name, (this.trackers[i] as BreachTracker).breachingSeries),
    );
    return out;
  }

  /** Decodes, scores and evaluates one batch of records. */
  processBatch(records: readonly SourceRecord[], nowMs: number): BatchResult {
    const stats: BatchStats = {
      messagesOk: 0,
      messagesPartial: 0,
      messagesDeadLettered: 0,
      messagesReplayed: 0,
      samplesScored: 0,
      samplesOutOfOrder: 0,
      samplesDuplicate: 0,
      samplesStale: 0,
      evictions: 0,
      targetUnresolved: 0,
      deadLetterReasons: new Map(),
      maxEventTimeMs: NaN,
    };
    const fires: Fire[] = [];
    const deadLetters: DeadLetterDraft[] = [];
    const decodeOptions = { format: this.options.format, nowMs, limits: this.options.limits };
    for (let index = 0; index < records.length; index++) {
      const record = records[index] as SourceRecord;
      const { samples, problems } = decodeMessage(record.value, decodeOptions);
      if (record.replayed === true) {
        stats.messagesReplayed++;
      } else if (problems.length > 0) {
        const whole = samples.length === 0;
        const reason = whole ? (problems[0]?.reason ?? 'invalid_schema') : 'partially_invalid';
        const detail = problems
          .slice(0, 20)
          .map((p) => (p.index === undefined ? '' : `[${p.index}] `) + `${p.reason}: ${p.detail}`)
          .join('; ');
        deadLetters.push({ index, reason, detail });
        stats.deadLetterReasons.set(reason, (stats.deadLetterReasons.get(reason) ?? 0) + 1);
        if (whole) stats.messagesDeadLettered++;
        else stats.messagesPartial++;
      } else {
        stats.messagesOk++;
      }
      for (const sample of samples) this.processSample(sample, nowMs, stats, fires);
    }
    return { fires, deadLetters, stats };
  }

  private processSample(
    sample: MetricSample,
    nowMs: number,
    stats: BatchStats,
    fires: Fire[],
  ): void {
    const { slot, isNew, evictedKey } = this.table.touchSeries(sample.name, sample.labels);
    if (isNew) {
      if (evictedKey !== undefined) {
        stats.evictions++;
        for (const tracker of this.trackers) tracker.forget(slot);
      }
      this.baselines.reset(slot);
      this.policiesOfSlot[slot] = this.matchPolicies(sample);
    }
    const baselines = this.baselines;
    const seen = (baselines.count[slot] as number) > 0;
    const lastTsMs = baselines.lastTsMs[slot] as number;
    if (seen && sample.timestampMs <= lastTsMs) {
      // A baseline is a function of time: a late sample cannot be folded in without
      // rewriting history, and a repeated timestamp is a producer retry. Count, skip.
      if (sample.timestampMs === lastTsMs) stats.samplesDuplicate++;
      else stats.samplesOutOfOrder++;
      return;
    }
    const policyIndices = this.policiesOfSlot[slot] ?? NO_POLICIES;
    if (Number.isNaN(sample.value)) {
      // Prometheus' staleness marker: the series stopped; a breach cannot span it.
      stats.samplesStale++;
      for (const index of policyIndices) (this.trackers[index] as BreachTracker).forget(slot);
      return;
    }
    const reading = observe(
      baselines,
      slot,
      sample.value,
      sample.timestampMs,
      this.options.baseline,
    );
    stats.samplesScored++;
    if (!(sample.timestampMs <= stats.maxEventTimeMs)) stats.maxEventTimeMs = sample.timestampMs;
    for (const index of policyIndices) {
      const policy = this.options.policies[index] as PipelinePolicy;
      const tracker = this.trackers[index] as BreachTracker;
      if (!isBreaching(policy, sample.value)) {
        tracker.forget(slot);
        continue;
      }
      const target = policy.resolveTarget(sample.labels);
      if (target === undefined) {
        stats.targetUnresolved++;
        continue;
      }
      const cooldownKey = `${policy.name}|${targetKeyOf(target)}`;
      const decision = tracker.observe(slot, sample.value, sample.timestampMs, cooldownKey);
      if (decision.kind !== 'fire') continue;
      tracker.startCooldown(cooldownKey, sample.timestampMs);
      const key = this.table.keyOf(slot) as string;
      const fireId = fireIdOf({
        policy: policy.name,
        cooldownKey,
        series: key,
        breachStartMs: decision.startMs,
        observedAtMs: sample.timestampMs,
      });
      const warm = reading.warm;
      const actions: ActionEnvelope[] = policy.actions.map((action, actionIndex) => {
        const envelope: ActionEnvelope = {
          schema: ACTION_SCHEMA_VERSION,
          actionId: `${fireId}.${actionIndex}`,
          fireId,
          actionIndex,
          policy: policy.name,
          target,
          type: action.type,
          parameters: { ...action.parameters },
          trigger: 'reactive',
          evidence: {
            series: key,
            metric: sample.name,
            labels: sample.labels,
            value: sample.value,
            threshold: policy.threshold,
            direction: policy.direction,
            breachStartMs: decision.startMs,
            breachDurationMs: sample.timestampMs - decision.startMs,
            baselineMean: warm ? reading.mean : null,
            baselineLower: warm ? reading.lower : null,
            baselineUpper: warm ? reading.upper : null,
            anomalyScore: Math.min(1, Math.max(0, reading.score)),
          },
          observedAtMs: sample.timestampMs,
          decidedAtMs: nowMs,
          cooldownMs: policy.cooldownMs,
        };
        if (action.scale !== undefined) envelope.scale = action.scale;
        return envelope;
      });
      fires.push({
        fireId,
        policy: policy.name,
        cooldownKey,
        observedAtMs: sample.timestampMs,
        cooldownMs: policy.cooldownMs,
        actions,
      });
    }
  }

  /**
   * Tells the core what the sink did with a fire it produced: a fire refused as cooling down
   * by the durable cooldown (another worker, or this one before a restart, fired already)
   * extends the in-memory cooldown to match.
   */
  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void {
    const index = this.options.policies.findIndex((p) => p.name === policyName);
    if (index >= 0)
      (this.trackers[index] as BreachTracker).startCooldown(cooldownKey, lastFiredAtMs);
  }

  private matchPolicies(sample: MetricSample): readonly number[] {
    const candidates = this.policiesByMetric.get(sample.name);
    if (candidates === undefined) return NO_POLICIES;
    const matched = candidates.filter((i) =>
      (this.options.policies[i] as PipelinePolicy).matches(sample.labels),
    );
    return matched.length === 0 ? NO_POLICIES : matched;
  }
}
