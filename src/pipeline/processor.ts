import { medianQuantileIndex } from '../forecast/features.js';
import {
  BaselineArrays,
  erf,
  flooredStdDev,
  observe,
  type BaselineConfig,
  type BaselineReading,
} from '../baseline/ewma.js';
import { SeriesTable } from '../baseline/seriesTable.js';
import {
  ACTION_SCHEMA_VERSION,
  fireIdOf,
  cooldownKeyOf,
  targetKeyOf,
  type ActionEnvelope,
  type ActionEvidence,
  type ActionTarget,
  type Fire,
} from '../dispatch/envelope.js';
import { decodeMessage } from '../ingest/decode.js';
import { decodeDeploymentEvent, type DeploymentEvent } from '../ingest/deploymentEvent.js';
import type { DecodeLimits } from '../ingest/limits.js';
import type { MetricSample } from '../ingest/sample.js';
import type { SourceRecord } from '../ingest/source.js';
import { BreachTracker, isBreaching } from '../policy/breach.js';
import {
  DEFAULT_RESERVE_PROBABILITY,
  keepsForecastAhead,
  scalesProportionally,
} from '../policy/schema.js';
import { DeploymentWindows, type RecordOutcome } from '../policy/deploymentWindows.js';
import type { PipelineDeploymentGate, PipelinePolicy } from './pipelinePolicy.js';
import type { ForecastEngine, ForecastRoundStats, StoredForecast } from '../forecast/engine.js';
import type { SeriesListEntry, SeriesView } from '../forecast/seriesView.js';
import { breachProbability, horizonStepsFor, quantileAt } from '../predict/breachProbability.js';
import type { FamilyQuality, ForecastQualityTracker } from '../predict/forecastQuality.js';
import { PredictiveTracker } from '../predict/predictiveTrigger.js';
import { PredictionJudge, type JudgedPrediction } from '../learn/predictionJudge.js';
import { FireDistrust, wasNeeded } from '../learn/fireDistrust.js';
import type { DetectorConfig } from '../detect/config.js';
import { bandFor, SeriesDetectors } from '../detect/detectors.js';
import { forecastAheadPeak } from './forecastAheadPeak.js';

/** The latest breach forecast of one (policy, series), for the inspection views. */
interface BreachView {
  readonly probability: number;
  readonly etaMs: number | undefined;
  /** The probability the policy acts at on the series: configured, or raised by distrust. */
  readonly actsAt: number;
}

/** Settings of the pure processing core. */
export interface ProcessorSettings {
  readonly baseline: BaselineConfig;
  /** Upper bound of series kept in memory; the least recently seen is evicted beyond it. */
  readonly maxSeries: number;
  readonly format: 'auto' | 'json' | 'influx';
  readonly limits: DecodeLimits;
  /**
   * Records of this topic are deployment events (see `DeploymentEventSchema`), not metrics:
   * they open the watch windows of deployment-gated policies. Undefined: no deployments.
   */
  readonly deploymentsTopic?: string | undefined;
  /**
   * The rich streaming anomaly detector (src/detect/) for the metrics it lists: their samples'
   * anomaly score comes from it instead of the EWMA baseline. Undefined: EWMA score only.
   */
  readonly detector?: DetectorConfig | undefined;
}

/** One scored sample, as the optional `onSampleScored` hook sees it. */
export interface ScoredSample {
  /** Series key (name and labels). */
  readonly series: string;
  readonly timestampMs: number;
  readonly value: number;
  /** Anomaly score in [0, 1]: the rich detector's for its metrics, else the EWMA baseline's. */
  readonly anomalyScore: number;
}

/** Settings plus the policies to run. */
export interface ProcessorOptions extends ProcessorSettings {
  readonly policies: readonly PipelinePolicy[];
  /** The forecasting stage; without it only reactive triggers run. */
  readonly forecast?: ForecastStage;
  /**
   * Called for every scored sample (evaluation, e.g. `healcast nab`). Unset in the worker:
   * then nothing is built for it, so scoring costs what it did without the hook.
   */
  readonly onSampleScored?: ((sample: ScoredSample) => void) | undefined;
}

/** The forecasting stage's parts and settings. */
export interface ForecastStage {
  readonly engine: ForecastEngine;
  readonly quality: ForecastQualityTracker;
  /** Predictive fires of every policy are recorded but not enqueued (global forecast-only). */
  readonly forecastOnly: boolean;
  /** Series keys always shown in /metrics and the inspection page. */
  readonly inspectSeries: readonly string[];
  /** Plus this many series with the highest breach probability. */
  readonly topK: number;
  /** Forecast step at which live forecasts are scored against actuals (1-based). */
  readonly qualityHorizonSteps: number;
}

/** What the forecasting stage did in one batch, for metrics, logs and inspection. */
export interface ForecastReport {
  readonly round: ForecastRoundStats;
  readonly modelVersion: string | null;
  readonly views: SeriesView[];
  readonly list: SeriesListEntry[];
  readonly quality: FamilyQuality[];
  /** Families that entered or left fallback in this batch. */
  readonly transitions: { family: string; transition: 'entered' | 'left' }[];
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

/** A deployment read in a batch (not a replayed one), and what the window tracker made of it. */
export interface RecordedDeployment {
  readonly event: DeploymentEvent;
  readonly outcome: RecordOutcome;
}

/** Everything one batch produced. Nothing is written anywhere yet: the caller does that. */
export interface BatchResult {
  readonly fires: Fire[];
  /** Predictive fires whose horizon ended (or whose breach came) in this batch: the learn step. */
  readonly judgements: JudgedPrediction[];
  readonly deadLetters: DeadLetterDraft[];
  readonly deployments: RecordedDeployment[];
  readonly stats: BatchStats;
  readonly forecast: ForecastReport | undefined;
}

const NO_POLICIES: readonly number[] = [];

/**
 * A predictive fire whose series sends nothing more is judged once the stream's event time is
 * this far past the end of its horizon (series do not all advance together).
 */
const JUDGE_GRACE_MS = 5 * 60_000;

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
  /** Labels of the series watched by policies (needed to render targets of predictive fires). */
  private readonly labelsOfSlot: (Readonly<Record<string, string>> | undefined)[] = [];
  private readonly predictive: (PredictiveTracker | undefined)[];
  /** Per policy: sizes its target proportionally, so its metric is a per-replica load. */
  private readonly perReplica: boolean[];
  /** By policy: its reactive fires carry `forecastAheadPeak` (`keepsForecastAhead`). */
  private readonly keepsAhead: boolean[];
  /** Forecasts waiting for their actual, per slot: scored by the quality tracker. */
  private readonly pendingScores = new Map<number, PendingScore[]>();
  /** Highest breach probability per slot from the latest forecast round that saw it. */
  private readonly riskOfSlot = new Map<number, number>();
  /** Latest breach forecast per (policy index, slot), for the inspection views. */
  private readonly breachViews = new Map<number, Map<number, BreachView>>();
  private transitions: { family: string; transition: 'entered' | 'left' }[] = [];
  /**
   * 1 for series that are forecast: those a predictive policy watches and those configured for
   * inspection. Forecasting costs about as much as decoding; series no one acts on or looks at
   * are not worth it.
   */
  private readonly forecastSlot: Uint8Array;
  private readonly inspectKeys: ReadonlySet<string>;
  /** Latest deployment per service, from the deployments topic. */
  private readonly deployments = new DeploymentWindows();
  /** Follows each predictive fire's series to its horizon: did the predicted breach come? */
  private readonly judge = new PredictionJudge();
  private judgements: JudgedPrediction[] = [];
  /** Per policy with `predict.distrust`: what its judged fires say of each series' forecast. */
  private readonly distrust: (FireDistrust | undefined)[];
  /** Policy index by name (names are unique in a policy set: the schema refuses duplicates). */
  private readonly policyIndexByName = new Map<string, number>();
  /** The rich detectors, when configured; 1 in `detectSlot` for the series that use one. */
  private readonly detectors: SeriesDetectors | undefined;
  private readonly detectSlot: Uint8Array;

  constructor(private readonly options: ProcessorOptions) {
    this.detectors =
      options.detector === undefined ? undefined : new SeriesDetectors(options.detector);
    this.detectSlot = new Uint8Array(this.detectors === undefined ? 0 : options.maxSeries);
    this.table = new SeriesTable(options.maxSeries);
    this.baselines = new BaselineArrays(options.maxSeries);
    this.policiesOfSlot = [];
    this.trackers = options.policies.map((p) => new BreachTracker(p));
    this.forecastSlot = new Uint8Array(options.maxSeries);
    this.inspectKeys = new Set(options.forecast?.inspectSeries ?? []);
    this.predictive = options.policies.map((p) =>
      p.predict === undefined ? undefined : new PredictiveTracker(p.predict),
    );
    this.perReplica = options.policies.map((p) => scalesProportionally(p.actions));
    this.keepsAhead = options.policies.map((p) =>
      keepsForecastAhead(p.direction, p.leadTimeMs ?? 0, p.actions),
    );
    this.distrust = options.policies.map((p) =>
      p.distrust === undefined ? undefined : new FireDistrust(p.distrust),
    );
    options.policies.forEach((policy, index) => {
      this.policyIndexByName.set(policy.name, index);
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
    const deployments: RecordedDeployment[] = [];
    const decodeOptions = { format: this.options.format, nowMs, limits: this.options.limits };
    const deploymentsTopic = this.options.deploymentsTopic;
    for (let index = 0; index < records.length; index++) {
      const record = records[index] as SourceRecord;
      if (record.topic === deploymentsTopic) {
        this.recordDeployment(record, index, nowMs, stats, deadLetters, deployments);
        continue;
      }
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
        addDeadLetter(stats, deadLetters, { index, reason, detail });
        if (whole) stats.messagesDeadLettered++;
        else stats.messagesPartial++;
      } else {
        stats.messagesOk++;
      }
      for (const sample of samples) this.processSample(sample, nowMs, stats, fires);
    }
    const forecast = this.options.forecast
      ? this.predict(this.options.forecast, nowMs, fires)
      : undefined;
    if (this.judge.openWatches > 0 && !Number.isNaN(stats.maxEventTimeMs)) {
      // Series that went quiet: judged once the stream is well past their horizon.
      this.judged(this.judge.expire(stats.maxEventTimeMs - JUDGE_GRACE_MS));
    }
    const judgements = this.judgements;
    this.judgements = [];
    return { fires, judgements, deadLetters, deployments, stats, forecast };
  }

  /**
   * One record of the deployments topic: a valid deployment moves its service's window (a
   * replayed one too: that is how a restart gets its open windows back); a bad one is
   * dead-lettered and counted like a bad metric message.
   */
  private recordDeployment(
    record: SourceRecord,
    index: number,
    nowMs: number,
    stats: BatchStats,
    deadLetters: DeadLetterDraft[],
    recorded: RecordedDeployment[],
  ): void {
    const decoded = decodeDeploymentEvent(record.value, { nowMs, limits: this.options.limits });
    if (record.replayed === true) {
      stats.messagesReplayed++;
      if (decoded.ok) this.deployments.record(decoded.event);
      return;
    }
    if (!decoded.ok) {
      const { reason, detail } = decoded.problem;
      addDeadLetter(stats, deadLetters, { index, reason, detail });
      stats.messagesDeadLettered++;
      return;
    }
    stats.messagesOk++;
    recorded.push({ event: decoded.event, outcome: this.deployments.record(decoded.event) });
  }

  /** The deployment whose watch window holds event time `atMs` for a series, if any. */
  private openDeployment(
    gate: PipelineDeploymentGate,
    labels: Readonly<Record<string, string>>,
    atMs: number,
  ): DeploymentEvent | undefined {
    const service = gate.serviceOf(labels);
    return service === undefined
      ? undefined
      : this.deployments.openWindow(service, atMs, gate.windowMs);
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
        this.options.forecast?.engine.evict(slot);
        this.pendingScores.delete(slot);
        this.labelsOfSlot[slot] = undefined;
        this.detectors?.forget(slot);
      }
      this.baselines.reset(slot);
      this.policiesOfSlot[slot] = this.matchPolicies(sample);
      this.forecastSlot[slot] = this.wantsForecast(this.policiesOfSlot[slot] ?? NO_POLICIES, slot);
      if (this.detectors !== undefined) {
        const rich = this.detectors.wants(sample.name);
        this.detectSlot[slot] = rich ? 1 : 0;
        // The rich detector reads the forecast band: its series are forecast when a model runs.
        if (rich && this.options.forecast !== undefined) this.forecastSlot[slot] = 1;
      }
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
    let reading = observe(baselines, slot, sample.value, sample.timestampMs, this.options.baseline);
    stats.samplesScored++;
    if (!(sample.timestampMs <= stats.maxEventTimeMs)) stats.maxEventTimeMs = sample.timestampMs;
    const forecast = this.options.forecast;
    if (forecast !== undefined && this.forecastSlot[slot] === 1) {
      // A batch may hold several steps of a series (a backlog, a replay): forecast "on each
      // step" means the step before this one must be forecast and decided on first. The round
      // takes every series due at once, so a batch of many series still makes few tensors.
      if (forecast.engine.isDue(slot)) this.forecastRound(forecast, nowMs, fires);
      this.scoreForecasts(forecast, slot, sample);
      forecast.engine.observe(slot, sample.value, sample.timestampMs);
      this.labelsOfSlot[slot] = sample.labels;
    }
    if (this.detectors !== undefined && this.detectSlot[slot] === 1) {
      // After the forecast round above: the newest forecast is the one made for this sample.
      const spec = forecast?.engine.model?.info.spec;
      const band =
        forecast === undefined || spec === undefined
          ? undefined
          : bandFor(forecast.engine.forecastOf(slot), spec.quantiles, sample.timestampMs);
      const score = this.detectors.score(slot, {
        value: sample.value,
        tsMs: sample.timestampMs,
        baselineZ: reading.zScore,
        band,
      });
      reading = { ...reading, score };
    }
    this.options.onSampleScored?.({
      series: this.table.keyOf(slot) as string,
      timestampMs: sample.timestampMs,
      value: sample.value,
      anomalyScore: reading.score,
    });
    // After the forecast round above: a fire it made on the previous step sees this sample.
    if (this.judge.openWatches > 0) {
      const key = this.table.keyOf(slot) as string;
      if (this.judge.watches(key)) {
        this.judged(this.judge.observe(key, sample.timestampMs, sample.value));
      }
    }
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
      const cooldownKey = cooldownKeyOf(policy.name, target);
      const decision = tracker.observe(slot, sample.value, sample.timestampMs, cooldownKey);
      if (decision.kind !== 'fire') continue;
      // Checked only once a breach is ready to fire: series no gated policy watches pay nothing.
      let deployment: DeploymentEvent | undefined;
      if (policy.deployment !== undefined) {
        deployment = this.openDeployment(policy.deployment, sample.labels, sample.timestampMs);
        // A breach is blamed on the deployment only for the part of it inside the window; the
        // tracker keeps it going meanwhile, so a deployment read late (the topics are read in
        // no order with each other) still fires on the next breaching sample.
        if (
          deployment === undefined ||
          sample.timestampMs - Math.max(decision.startMs, deployment.deployedAtMs) <
            policy.durationMs
        ) {
          continue;
        }
      }
      tracker.fired(slot, cooldownKey, sample.timestampMs);
      const key = this.table.keyOf(slot) as string;
      const fireId = fireIdOf({
        policy: policy.name,
        cooldownKey,
        series: key,
        breachStartMs: decision.startMs,
        observedAtMs: sample.timestampMs,
      });
      fires.push(
        this.buildFire(
          policy,
          slot,
          key,
          target,
          cooldownKey,
          fireId,
          sample.timestampMs,
          nowMs,
          sample.value,
          {
            trigger: 'reactive',
            labels: sample.labels,
            breachStartMs: decision.startMs,
            breachPeak: decision.peak,
            forecastAheadPeak: this.aheadPeakFor(index, slot, sample.timestampMs),
            reading,
            deployment,
          },
        ),
      );
    }
  }

  /**
   * For a reactive fire of a proportional scale-in with a lead time (`keepsForecastAhead`: its
   * capacity takes that long to come back): the highest forecast of the series until then at level 1 − the
   * policy's reserve probability (the median by default), so the
   * executor does not size the scale-in below the load expected before a scale-out could
   * restore it. Undefined without a usable forecast (none, stale, or a family whose forecasts
   * do worse than naive).
   */
  private aheadPeakFor(index: number, slot: number, atMs: number): number | undefined {
    const forecast = this.options.forecast;
    if (this.keepsAhead[index] !== true || forecast === undefined) return undefined;
    const policy = this.options.policies[index] as PipelinePolicy;
    const leadTimeMs = policy.leadTimeMs ?? 0;
    const spec = forecast.engine.model?.info.spec;
    if (spec === undefined || this.forecastSlot[slot] !== 1) return undefined;
    if (forecast.quality.isFallback(policy.metric)) return undefined;
    return forecastAheadPeak(
      forecast.engine.forecastOf(slot),
      spec.quantiles,
      atMs,
      leadTimeMs,
      1 - (policy.reserveProbability ?? DEFAULT_RESERVE_PROBABILITY),
    );
  }

  /** One policy firing: an envelope per action, the evidence, and the sink's facts. */
  private buildFire(
    policy: PipelinePolicy,
    slot: number,
    key: string,
    target: ActionTarget,
    cooldownKey: string,
    fireId: string,
    observedAtMs: number,
    nowMs: number,
    value: number,
    how: {
      trigger: ActionEnvelope['trigger'];
      labels: Readonly<Record<string, string>>;
      breachStartMs: number;
      breachPeak?: number;
      forecastAheadPeak?: number | undefined;
      reading?: BaselineReading;
      prediction?: ActionEvidence['prediction'];
      forecastOnly?: boolean;
      deployment?: DeploymentEvent | undefined;
    },
  ): Fire {
    const reading = how.reading;
    let mean: number | null = null;
    let lower: number | null = null;
    let upper: number | null = null;
    let score = 0;
    if (reading !== undefined) {
      if (reading.warm) {
        mean = reading.mean;
        lower = reading.lower;
        upper = reading.upper;
      }
      score = reading.score;
    } else {
      // Predictive fires come between samples: the baseline as it stands now.
      const band = this.bandNow(slot);
      if (band.warm) {
        mean = band.mean;
        lower = band.mean - band.half;
        upper = band.mean + band.half;
        score = erf(Math.abs(value - band.mean) / band.std / Math.SQRT2);
      }
    }
    const evidence: ActionEvidence = {
      series: key,
      metric: policy.metric,
      labels: how.labels,
      value,
      ...(how.breachPeak === undefined ? {} : { breachPeak: how.breachPeak }),
      ...(how.forecastAheadPeak === undefined ? {} : { forecastAheadPeak: how.forecastAheadPeak }),
      threshold: policy.threshold,
      direction: policy.direction,
      breachStartMs: how.breachStartMs,
      breachDurationMs: Math.max(0, observedAtMs - how.breachStartMs),
      baselineMean: mean,
      baselineLower: lower,
      baselineUpper: upper,
      anomalyScore: Math.min(1, Math.max(0, score)),
    };
    if (how.prediction !== undefined) evidence.prediction = how.prediction;
    const deployment = how.deployment;
    if (deployment !== undefined) {
      evidence.deployment = {
        service: deployment.service,
        version: deployment.version,
        ...(deployment.previousVersion === undefined
          ? {}
          : { previousVersion: deployment.previousVersion }),
        deployedAtMs: deployment.deployedAtMs,
      };
    }
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
        trigger: how.trigger,
        evidence,
        observedAtMs,
        decidedAtMs: nowMs,
        cooldownMs: policy.cooldownMs,
      };
      if (action.scale !== undefined) envelope.scale = action.scale;
      return envelope;
    });
    const fire: Fire = {
      fireId,
      policy: policy.name,
      cooldownKey,
      observedAtMs,
      cooldownMs: policy.cooldownMs,
      actions,
      ...(how.forecastOnly === true ? { forecastOnly: true } : {}),
    };
    return fire;
  }

  /**
   * Tells the core that `target`'s replica count changed from `fromReplicas` to `toReplicas`
   * at event time `atMs` (an executed scale, whoever asked for it). The series of a policy that
   * scales that target proportionally are per-replica loads by that policy's own rule
   * (desired = current × value / targetPerReplica), so the change moves them by itself, by
   * from / to. Their forecast history up to `atMs`, and the forecasts awaiting an actual after
   * it, are rescaled by that factor: the model then sees the load, not the controller's step,
   * which it would read as volatility (wider bands, tail alarms: on the NASA-HTTP backtest most
   * unneeded predictive scale-ups came within minutes of a scaling action). The EWMA baselines
   * and reactive triggers see the values as they are. Scans the series table: meant for
   * actions, which are rare next to samples.
   */
  replicasChanged(
    target: ActionTarget,
    fromReplicas: number,
    toReplicas: number,
    atMs: number,
  ): void {
    const engine = this.options.forecast?.engine;
    if (engine === undefined || !(fromReplicas > 0) || !(toReplicas > 0)) return;
    if (fromReplicas === toReplicas || !this.perReplica.includes(true)) return;
    const factor = fromReplicas / toReplicas;
    const key = targetKeyOf(target);
    this.policiesOfSlot.forEach((indices, slot) => {
      const labels = this.labelsOfSlot[slot];
      if (labels === undefined || this.forecastSlot[slot] !== 1) return;
      const perReplica = indices.some((index) => {
        if (this.perReplica[index] !== true) return false;
        const resolved = (this.options.policies[index] as PipelinePolicy).resolveTarget(labels);
        return resolved !== undefined && targetKeyOf(resolved) === key;
      });
      if (!perReplica) return;
      engine.rescale(slot, factor, atMs);
      // Open predictive fires go on being judged in the unit they were decided in.
      this.judge.rescale(this.table.keyOf(slot) as string, factor);
      const pending = this.pendingScores.get(slot);
      if (pending !== undefined) {
        this.pendingScores.set(
          slot,
          pending.map((p) =>
            p.targetTsMs <= atMs
              ? p
              : {
                  ...p,
                  median: p.median * factor,
                  upper: p.upper * factor,
                  naive: p.naive * factor,
                },
          ),
        );
      }
    });
  }

  /**
   * Tells the core what the sink did with a fire it produced: a fire refused as cooling down
   * by the durable cooldown (another worker, or this one before a restart, fired already)
   * extends the in-memory cooldown to match.
   */
  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void {
    const index = this.policyIndexByName.get(policyName);
    if (index !== undefined)
      (this.trackers[index] as BreachTracker).startCooldown(cooldownKey, lastFiredAtMs);
  }

  /** Scores, against the actual that just arrived, the forecasts made for its time. */
  private scoreForecasts(forecast: ForecastStage, slot: number, sample: MetricSample): void {
    const pending = this.pendingScores.get(slot);
    if (pending === undefined) return;
    while (pending.length > 0) {
      const next = pending[0] as PendingScore;
      const toleranceMs = next.stepMs / 2;
      if (next.targetTsMs > sample.timestampMs + toleranceMs) break;
      pending.shift();
      if (Math.abs(next.targetTsMs - sample.timestampMs) <= toleranceMs) {
        const transition = forecast.quality.record({
          family: sample.name,
          horizonSteps: forecast.qualityHorizonSteps,
          predictedMedian: next.median,
          predictedUpper: next.upper,
          actual: sample.value,
          naive: next.naive,
          atMs: sample.timestampMs,
        });
        if (transition !== undefined) this.transitions.push({ family: sample.name, transition });
      }
    }
  }

  /**
   * The forecasting round of a batch: forecast the watched series that moved, then let each
   * predictive policy decide on its series from the new forecast.
   */
  private predict(forecast: ForecastStage, nowMs: number, fires: Fire[]): ForecastReport {
    const { engine, quality } = forecast;
    this.forecastRound(forecast, nowMs, fires);
    const round = this.round;
    this.round = { forecasts: 0, batches: 0, inferenceMs: 0, deferred: 0 };
    const model = engine.model;
    const transitions = this.transitions;
    this.transitions = [];
    const { views, list } = this.inspection(forecast);
    return {
      round,
      modelVersion: model?.info.version ?? null,
      views,
      list,
      quality: quality.allStats(),
      transitions,
    };
  }

  /** Figures of the forecasting rounds of the current batch. */
  private round: ForecastRoundStats = { forecasts: 0, batches: 0, inferenceMs: 0, deferred: 0 };

  /** One forecasting round: forecast the series that moved, let predictive policies decide. */
  private forecastRound(forecast: ForecastStage, nowMs: number, fires: Fire[]): void {
    const { engine } = forecast;
    const { slots, stats } = engine.runRound();
    this.round.forecasts += stats.forecasts;
    this.round.batches += stats.batches;
    this.round.inferenceMs += stats.inferenceMs;
    this.round.deferred = stats.deferred;
    const model = engine.model;
    const spec = model?.info.spec;
    if (model !== undefined && spec !== undefined) {
      const q = spec.quantiles.length;
      const median = medianQuantileIndex(spec.quantiles);
      const k = Math.min(forecast.qualityHorizonSteps, spec.horizonSteps);
      for (const slot of slots) {
        const stored = engine.forecastOf(slot) as StoredForecast;
        // Remember what this forecast says about step k, to score it when that actual arrives.
        const pending = this.pendingScores.get(slot) ?? [];
        pending.push({
          targetTsMs: stored.originTsMs + k * stored.stepMs,
          stepMs: stored.stepMs,
          median: stored.values[(k - 1) * q + median] as number,
          upper: stored.values[(k - 1) * q + q - 1] as number,
          naive: stored.originValue,
        });
        if (pending.length > k + 1) pending.shift();
        this.pendingScores.set(slot, pending);
        this.decidePredictive(forecast, slot, stored, spec.quantiles, nowMs, fires);
      }
    }
  }

  private decidePredictive(
    forecast: ForecastStage,
    slot: number,
    stored: StoredForecast,
    quantiles: readonly number[],
    nowMs: number,
    fires: Fire[],
  ): void {
    const labels = this.labelsOfSlot[slot];
    if (labels === undefined) return;
    const key = this.table.keyOf(slot) as string;
    let risk = 0;
    for (const index of this.policiesOfSlot[slot] ?? NO_POLICIES) {
      const policy = this.options.policies[index] as PipelinePolicy;
      const predictive = this.predictive[index];
      if (policy.predict === undefined || predictive === undefined) continue;
      const horizonSteps = Math.min(
        horizonStepsFor(policy.predict.horizonMs, stored.stepMs),
        stored.values.length / quantiles.length,
      );
      if (horizonSteps < 1) continue;
      // The configured probability, or the higher one this series' unneeded fires earned it.
      const probability =
        this.distrust[index]?.threshold(key, policy.predict.probability) ??
        policy.predict.probability;
      const breach = breachProbability(
        { values: stored.values, quantiles, stepMs: stored.stepMs },
        { threshold: policy.threshold, direction: policy.direction, inclusive: policy.inclusive },
        { horizonSteps, probability },
      );
      if (!Number.isNaN(breach.probability)) risk = Math.max(risk, breach.probability);
      let seen = this.breachViews.get(index);
      if (seen === undefined) {
        seen = new Map<number, BreachView>();
        this.breachViews.set(index, seen);
      }
      seen.set(slot, { probability: breach.probability, etaMs: breach.etaMs, actsAt: probability });
      // A family whose forecasts do worse than naive keeps its reactive triggers only.
      if (forecast.quality.isFallback(policy.metric)) continue;
      const target = policy.resolveTarget(labels);
      if (target === undefined) continue;
      const tracker = this.trackers[index] as BreachTracker;
      const cooldownKey = cooldownKeyOf(policy.name, target);
      const gate = policy.deployment;
      const coolingDown = tracker.isCoolingDown(cooldownKey, stored.originTsMs);
      // Looked up only when it can matter (not cooling down), as on the reactive path.
      const deployment =
        gate === undefined || coolingDown
          ? undefined
          : this.openDeployment(gate, labels, stored.originTsMs);
      const decision = predictive.evaluate(slot, {
        nowMs: stored.originTsMs,
        stepMs: stored.stepMs,
        forecast: breach,
        breachingNow: isBreaching(policy, stored.originValue),
        // Outside a deployment's window a gated policy may not act, just as while cooling
        // down: the episode is still followed (and re-arms), so it fires once a window opens.
        coolingDown: coolingDown || (gate !== undefined && deployment === undefined),
        probability,
      });
      if (decision.kind !== 'fire' || decision.etaMs === undefined) continue;
      tracker.startCooldown(cooldownKey, stored.originTsMs);
      const breachStep = Math.max(
        1,
        Math.min(horizonSteps, Math.round(decision.etaMs / stored.stepMs)),
      );
      const q = quantiles.length;
      const predictedBreachAtMs =
        decision.predictedBreachAtMs ?? stored.originTsMs + decision.etaMs;
      const fireId = fireIdOf({
        policy: policy.name,
        cooldownKey,
        series: `${key}#predicted`,
        breachStartMs: predictedBreachAtMs,
        observedAtMs: stored.originTsMs,
      });
      fires.push(
        this.buildFire(
          policy,
          slot,
          key,
          target,
          cooldownKey,
          fireId,
          stored.originTsMs,
          nowMs,
          stored.originValue,
          {
            trigger: 'predictive',
            labels,
            breachStartMs: predictedBreachAtMs,
            prediction: {
              probability: decision.probability,
              etaMs: decision.etaMs,
              predictedBreachAtMs,
              leadTimeMs: policy.predict.leadTimeMs,
              horizonMs: policy.predict.horizonMs,
              forecastUpper: stored.values[(breachStep - 1) * q + q - 1] as number,
              ...atRisk(
                quantileAt(
                  stored.values,
                  (breachStep - 1) * q,
                  quantiles,
                  // The risk it acted at: raised by distrust, the forecast's tail is discounted.
                  1 - probability,
                ),
              ),
              modelVersion: stored.modelVersion,
            },
            forecastOnly: policy.forecastOnly || forecast.forecastOnly,
            deployment,
          },
        ),
      );
      this.judged(
        this.judge.watch({
          fireId,
          policy: policy.name,
          series: key,
          threshold: policy.threshold,
          direction: policy.direction,
          inclusive: policy.inclusive,
          valueAtDecision: stored.originValue,
          observedAtMs: stored.originTsMs,
          effectAtMs: stored.originTsMs + policy.predict.leadTimeMs,
          windowEndMs: stored.originTsMs + policy.predict.horizonMs,
          predictedBreachAtMs,
          claimedProbability: decision.probability,
        }),
      );
    }
    this.riskOfSlot.set(slot, risk);
  }

  /**
   * Verdicts on predictive fires: returned with the batch (metrics, logs) and, for policies
   * with `predict.distrust`, learned from at once — the series' next decision uses them
   * (causal: a verdict exists only once the breach came or the horizon ended).
   */
  private judged(list: readonly JudgedPrediction[]): void {
    for (const judged of list) {
      this.judgements.push(judged);
      const { watch } = judged;
      const index = this.policyIndexByName.get(watch.policy);
      const distrust = index === undefined ? undefined : this.distrust[index];
      distrust?.record(watch.series, watch.claimedProbability, wasNeeded(judged.verdict));
    }
  }

  /** Views of the configured series and the top-K at risk, for /metrics and the page. */
  private inspection(forecast: ForecastStage): { views: SeriesView[]; list: SeriesListEntry[] } {
    const list: SeriesListEntry[] = [];
    const chosen = new Set<number>();
    for (const key of forecast.inspectSeries) {
      const slot = this.table.slotOfKey(key);
      if (slot === undefined) continue;
      chosen.add(slot);
      list.push({ series: key, risk: this.riskOfSlot.get(slot) ?? null, reason: 'configured' });
    }
    const ranked = [...this.riskOfSlot.entries()]
      .filter(([slot, risk]) => risk > 0 && !chosen.has(slot))
      .sort((a, b) => b[1] - a[1])
      .slice(0, forecast.topK);
    for (const [slot, risk] of ranked) {
      chosen.add(slot);
      list.push({ series: this.table.keyOf(slot) as string, risk, reason: 'at_risk' });
    }
    const views: SeriesView[] = [];
    for (const slot of chosen) {
      const view = this.viewOf(forecast, slot);
      if (view !== undefined) views.push(view);
    }
    return { views, list };
  }

  private viewOf(forecast: ForecastStage, slot: number): SeriesView | undefined {
    const key = this.table.keyOf(slot);
    const history = forecast.engine.histories;
    if (key === undefined || history === undefined) return undefined;
    const count = history.length[slot] as number;
    const stepMs = history.stepMs[slot] as number;
    const lastTsMs = history.lastTsMs[slot] as number;
    const window = history.windowSteps;
    const tsMs: number[] = [];
    const values: number[] = [];
    for (let i = window - count; i < window; i++) {
      tsMs.push(lastTsMs - (window - 1 - i) * stepMs);
      values.push(history.valueAt(slot, i));
    }
    // The band is the baseline as it stands (the EWMA state is not kept per past point).
    const { mean, half, warm } = this.bandNow(slot);
    const stored = forecast.engine.forecastOf(slot);
    const spec = forecast.engine.model?.info.spec;
    let forecastView: SeriesView['forecast'] = null;
    if (stored !== undefined && spec !== undefined) {
      const q = spec.quantiles.length;
      const steps = stored.values.length / q;
      forecastView = {
        madeAtMs: stored.originTsMs,
        modelVersion: stored.modelVersion,
        quantiles: spec.quantiles,
        tsMs: Array.from({ length: steps }, (_, h) => stored.originTsMs + (h + 1) * stored.stepMs),
        values: spec.quantiles.map((_, qi) =>
          Array.from({ length: steps }, (_, h) => stored.values[h * q + qi] as number),
        ),
      };
    }
    return {
      series: key,
      stepMs,
      actuals: {
        tsMs,
        values,
        mean: values.map(() => (warm ? mean : null)),
        lower: values.map(() => (warm ? mean - half : null)),
        upper: values.map(() => (warm ? mean + half : null)),
      },
      forecast: forecastView,
      policies: (this.policiesOfSlot[slot] ?? NO_POLICIES).map((index) => {
        const policy = this.options.policies[index] as PipelinePolicy;
        const seen = this.breachViews.get(index)?.get(slot);
        return {
          name: policy.name,
          threshold: policy.threshold,
          direction: policy.direction,
          probability:
            seen === undefined || Number.isNaN(seen.probability) ? null : seen.probability,
          etaMs: seen?.etaMs ?? null,
          actsAtProbability: seen?.actsAt ?? policy.predict?.probability ?? null,
        };
      }),
    };
  }

  private wantsForecast(policyIndices: readonly number[], slot: number): 0 | 1 {
    if (this.options.forecast === undefined) return 0;
    if (policyIndices.some((i) => this.needsForecast(i))) return 1;
    return this.inspectKeys.size > 0 && this.inspectKeys.has(this.table.keyOf(slot) ?? '') ? 1 : 0;
  }

  /**
   * A policy's series must be forecast when it has a predictive trigger, or when it is a
   * proportional scale-in with a lead time: its fires carry the load forecast until then
   * (`forecastAheadPeak`), whether or not another policy forecasts the same series.
   */
  private needsForecast(index: number): boolean {
    const policy = this.options.policies[index] as PipelinePolicy;
    return policy.predict !== undefined || this.keepsAhead[index] === true;
  }

  /** The slot's baseline as it stands: mean, floored σ, band half-width, warm or not. */
  private bandNow(slot: number): { mean: number; std: number; half: number; warm: boolean } {
    const { bandSigmas, warmupSamples } = this.options.baseline;
    const mean = this.baselines.mean[slot] as number;
    const std = flooredStdDev(mean, this.baselines.variance[slot] as number, this.options.baseline);
    const warm = (this.baselines.count[slot] as number) >= warmupSamples;
    return { mean, std, half: bandSigmas * std, warm };
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

/** Puts a record on the dead-letter list and counts its reason. */
function addDeadLetter(
  stats: BatchStats,
  deadLetters: DeadLetterDraft[],
  draft: DeadLetterDraft,
): void {
  deadLetters.push(draft);
  stats.deadLetterReasons.set(draft.reason, (stats.deadLetterReasons.get(draft.reason) ?? 0) + 1);
}

/** A forecast value waiting for the actual of its time. */
interface PendingScore {
  readonly targetTsMs: number;
  readonly stepMs: number;
  readonly median: number;
  readonly upper: number;
  readonly naive: number;
}

/** `forecastAtRisk` for a prediction's evidence, left out when the forecast there is unusable. */
function atRisk(value: number): { forecastAtRisk?: number } {
  return Number.isFinite(value) ? { forecastAtRisk: value } : {};
}
