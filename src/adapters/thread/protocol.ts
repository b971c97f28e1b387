import type { ActionTarget } from '../../dispatch/envelope.js';
import type { SourceRecord } from '../../ingest/source.js';
import type { ProcessedBatch } from '../../pipeline/batchProcessor.js';
import type { Policy } from '../../policy/schema.js';
import type { ProcessorSettings } from '../../pipeline/processor.js';
import type { ForecastStageSettings } from '../../pipeline/forecastStage.js';

/** What the processor thread is started with (structured-cloneable: policies are plain data). */
export interface ThreadInit {
  readonly policies: readonly Policy[];
  readonly settings: ProcessorSettings;
  /** Forecasting stage settings and where the models are; absent: forecasting off. */
  readonly forecast?: { readonly settings: ForecastStageSettings; readonly modelsRoot: string };
}

/** Main → thread. */
export type ToThread =
  | {
      readonly kind: 'batch';
      readonly id: number;
      readonly nowMs: number;
      /** All message values back to back. */
      readonly bytes: ArrayBuffer;
      /** n+1 offsets into `bytes`; a null value has `lengths[i] === -1`. */
      readonly starts: Int32Array;
      readonly lengths: Int32Array;
      readonly replayed: Uint8Array;
      /**
       * The distinct topics of the batch and each record's index into them (the core tells
       * deployment events from metrics by topic). A batch from Kafka has a single topic, so
       * this costs one small array, not a string per record.
       */
      readonly topics: string[];
      readonly topicIndex: Uint16Array;
    }
  | {
      readonly kind: 'sync';
      readonly policy: string;
      readonly cooldownKey: string;
      readonly lastFiredAtMs: number;
    }
  | {
      readonly kind: 'replicas';
      readonly target: ActionTarget;
      readonly fromReplicas: number;
      readonly toReplicas: number;
      readonly atMs: number;
    }
  | { readonly kind: 'reload' };

/** Thread → main. */
export type FromThread =
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly id: number; readonly result: ProcessedBatch }
  | { readonly kind: 'failed'; readonly id: number; readonly error: string };

/** Packs the values of `records` into transferable arrays (one copy of the bytes). */
export function packRecords(
  id: number,
  nowMs: number,
  records: readonly SourceRecord[],
): { message: ToThread & { kind: 'batch' }; transfer: ArrayBuffer[] } {
  const n = records.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += records[i]?.value?.length ?? 0;
  const bytes = new Uint8Array(new ArrayBuffer(total));
  const starts = new Int32Array(n);
  const lengths = new Int32Array(n);
  const replayed = new Uint8Array(n);
  const topicIndex = new Uint16Array(n);
  const topics: string[] = [];
  let lastTopic: string | undefined;
  let lastTopicIndex = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const record = records[i] as SourceRecord;
    const value = record.value;
    starts[i] = at;
    if (value === null) {
      lengths[i] = -1;
    } else {
      bytes.set(value, at);
      lengths[i] = value.length;
      at += value.length;
    }
    replayed[i] = record.replayed === true ? 1 : 0;
    if (record.topic !== lastTopic) {
      lastTopic = record.topic;
      lastTopicIndex = topics.indexOf(record.topic);
      if (lastTopicIndex < 0) lastTopicIndex = topics.push(record.topic) - 1;
    }
    topicIndex[i] = lastTopicIndex;
  }
  return {
    message: {
      kind: 'batch',
      id,
      nowMs,
      bytes: bytes.buffer,
      starts,
      lengths,
      replayed,
      topics,
      topicIndex,
    },
    transfer: [bytes.buffer, starts.buffer, lengths.buffer, replayed.buffer, topicIndex.buffer],
  };
}

/** The records as the core needs them (topic, value, replay flag) from a packed batch. */
export function unpackRecords(message: ToThread & { kind: 'batch' }): SourceRecord[] {
  const { bytes, starts, lengths, replayed, topics, topicIndex } = message;
  const records: SourceRecord[] = new Array<SourceRecord>(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i] as number;
    records[i] = {
      topic: topics[topicIndex[i] as number] ?? '',
      partition: 0,
      offset: String(i),
      key: null,
      value: length < 0 ? null : Buffer.from(bytes, starts[i] as number, length),
      timestampMs: 0,
      replayed: replayed[i] === 1,
    };
  }
  return records;
}
