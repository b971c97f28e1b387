import type {
  BatchStats,
  DeadLetterDraft,
  ForecastReport,
  RecordedDeployment,
} from './processor.js';
import type { ActionTarget, Fire } from '../dispatch/envelope.js';
import type { JudgedPrediction } from '../learn/predictionJudge.js';
import type { SourceRecord } from '../ingest/source.js';
import type { Processor } from './processor.js';

/** What the core made of one batch, in a form that can cross a thread boundary. */
export interface ProcessedBatch {
  readonly fires: Fire[];
  /** Verdicts on earlier predictive fires (see PredictionJudge). */
  readonly judgements: JudgedPrediction[];
  /** Unusable records by their index in the batch, with the reason. */
  readonly deadLetters: DeadLetterDraft[];
  /** Deployments read from the deployments topic (replays excluded). */
  readonly deployments: RecordedDeployment[];
  readonly stats: BatchStats;
  /** Live series and series breaching each policy, after the batch. */
  readonly liveSeries: number;
  readonly breaching: [policy: string, series: number][];
  /** The forecasting stage's report (absent when forecasting is off). */
  readonly forecast: ForecastReport | undefined;
  /** The model in use, if forecasting is on. */
  readonly model: ModelStatusView | undefined;
}

/** Which model runs and why not (mirrors the model runtime's status). */
export interface ModelStatusView {
  readonly version: string | null;
  readonly backend: string | null;
  readonly error: string | null;
}

/** Loads a newer promoted model, if any (hot reload); implemented by the model runtime. */
export interface ModelReloader {
  reload(): Promise<ModelStatusView>;
  readonly status: ModelStatusView;
}

/**
 * BatchProcessor — runs the pure core on batches, either on the calling thread or on a
 * worker thread (so decoding and scoring overlap with fetching on another core).
 *
 * Contract: batches are processed strictly in submission order and each promise resolves in
 * that order; `syncCooldown` and `replicasChanged` take effect before any batch submitted
 * after them (and after every batch submitted before them).
 */
export interface BatchProcessor {
  process(records: readonly SourceRecord[], nowMs: number): Promise<ProcessedBatch>;
  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void;
  /** An executed scale moved `target` between replica counts at `atMs` (see Processor). */
  replicasChanged(
    target: ActionTarget,
    fromReplicas: number,
    toReplicas: number,
    atMs: number,
  ): void;
  /** Looks for a newly promoted model and swaps it in after warm-up (no-op without one). */
  reloadModel(): void;
  close(): Promise<void>;
}

/** The core on the calling thread. */
export class InlineBatchProcessor implements BatchProcessor {
  constructor(
    private readonly core: Processor,
    private readonly models?: ModelReloader,
  ) {}

  process(records: readonly SourceRecord[], nowMs: number): Promise<ProcessedBatch> {
    return Promise.resolve(processedBatch(this.core, records, nowMs, this.models?.status));
  }

  reloadModel(): void {
    void this.models?.reload();
  }

  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void {
    this.core.syncCooldown(policyName, cooldownKey, lastFiredAtMs);
  }

  replicasChanged(
    target: ActionTarget,
    fromReplicas: number,
    toReplicas: number,
    atMs: number,
  ): void {
    this.core.replicasChanged(target, fromReplicas, toReplicas, atMs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Runs one batch through the core and packs what came out (shared by both processors). */
export function processedBatch(
  core: Processor,
  records: readonly SourceRecord[],
  nowMs: number,
  model: ModelStatusView | undefined,
): ProcessedBatch {
  const { fires, judgements, deadLetters, deployments, stats, forecast } = core.processBatch(
    records,
    nowMs,
  );
  return {
    fires,
    judgements,
    deadLetters,
    deployments,
    stats,
    liveSeries: core.liveSeries,
    breaching: [...core.breachingSeries()],
    forecast,
    model: model === undefined ? undefined : { ...model },
  };
}
