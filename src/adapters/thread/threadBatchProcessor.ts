import { Worker } from 'node:worker_threads';
import type { ActionTarget } from '../../dispatch/envelope.js';
import { HealcastError } from '../../errors.js';
import type { SourceRecord } from '../../ingest/source.js';
import type { BatchProcessor, ProcessedBatch } from '../../pipeline/batchProcessor.js';
import { packRecords, type FromThread, type ThreadInit, type ToThread } from './protocol.js';

interface Pending {
  resolve(result: ProcessedBatch): void;
  reject(error: Error): void;
}

/**
 * ThreadBatchProcessor — the core on a worker thread. kafkajs' fetching, record decoding and
 * commits keep the main thread busy on their own (about 2.8 µs of CPU per message here);
 * decoding and scoring cost as much again, so on two cores running them side by side nearly
 * doubles what one worker consumes (see BENCHMARKS.md). Batches cross the boundary as one
 * transferred byte buffer; results come back by structured clone (fires are few).
 */
export class ThreadBatchProcessor implements BatchProcessor {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly thread: Worker) {
    thread.on('message', (message: FromThread) => {
      if (message.kind === 'ready') return;
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.kind === 'result') waiter.resolve(message.result);
      else waiter.reject(new Error(`processor thread failed on a batch: ${message.error}`));
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`processor thread exited with code ${code}`)));
  }

  /** Starts the thread and waits until its core is built (policies compiled). */
  static async start(init: ThreadInit): Promise<ThreadBatchProcessor> {
    const thread = new Worker(threadEntry(), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromThread): void => {
        if (message.kind === 'ready') {
          thread.off('error', reject);
          resolve();
        }
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
    }).catch((error: unknown) => {
      throw new HealcastError(
        'CONFIG_INVALID',
        `cannot start the processor thread: ${String(error)}`,
        {
          retriable: false,
          cause: error,
        },
      );
    });
    return new ThreadBatchProcessor(thread);
  }

  process(records: readonly SourceRecord[], nowMs: number): Promise<ProcessedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const { message, transfer } = packRecords(id, nowMs, records);
    return new Promise<ProcessedBatch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.postMessage(message, transfer);
    });
  }

  syncCooldown(policyName: string, cooldownKey: string, lastFiredAtMs: number): void {
    const message: ToThread = { kind: 'sync', policy: policyName, cooldownKey, lastFiredAtMs };
    this.thread.postMessage(message);
  }

  replicasChanged(
    target: ActionTarget,
    fromReplicas: number,
    toReplicas: number,
    atMs: number,
  ): void {
    const message: ToThread = { kind: 'replicas', target, fromReplicas, toReplicas, atMs };
    this.thread.postMessage(message);
  }

  reloadModel(): void {
    if (this.failure) return;
    this.thread.postMessage({ kind: 'reload' } satisfies ToThread);
  }

  async close(): Promise<void> {
    this.failure ??= new Error('processor thread closed');
    await this.thread.terminate();
  }
}

/**
 * The thread's entry module. Compiled (dist/), it is processorThread.js beside this file.
 * Run from the TypeScript sources (tests, tsx) a worker thread does not inherit the loader, so
 * a tiny bootstrap registers tsx in the thread first.
 */
function threadEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./processorThread.js', import.meta.url);
  const entry = new URL('./processorThread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
