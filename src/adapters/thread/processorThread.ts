// Entry of the processor thread: the pure core (decode, baselines, policies, forecasts) on its
// own core, fed packed batches by ThreadBatchProcessor. Messages are handled strictly in
// order; a model (re)load runs alongside and is swapped in between two batches.
import { parentPort, workerData } from 'node:worker_threads';
import { processedBatch } from '../../pipeline/batchProcessor.js';
import { createForecastStage } from '../../pipeline/forecastStage.js';
import { toPipelinePolicy } from '../../pipeline/pipelinePolicy.js';
import { Processor } from '../../pipeline/processor.js';
import { ModelRuntime } from '../tfjs/modelRuntime.js';
import { unpackRecords, type FromThread, type ThreadInit, type ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('processorThread must run in a worker thread');
const init = workerData as ThreadInit;
const stage =
  init.forecast === undefined
    ? undefined
    : createForecastStage(init.forecast.settings, init.settings.maxSeries, () => performance.now());
const models =
  stage === undefined || init.forecast === undefined
    ? undefined
    : new ModelRuntime(stage.engine, init.forecast.modelsRoot);
const core = new Processor({
  ...init.settings,
  policies: init.policies.map(toPipelinePolicy),
  ...(stage === undefined ? {} : { forecast: stage }),
});

port.on('message', (message: ToThread) => {
  if (message.kind === 'sync') {
    core.syncCooldown(message.policy, message.cooldownKey, message.lastFiredAtMs);
    return;
  }
  if (message.kind === 'replicas') {
    core.replicasChanged(message.target, message.fromReplicas, message.toReplicas, message.atMs);
    return;
  }
  if (message.kind === 'reload') {
    void models?.reload();
    return;
  }
  let reply: FromThread;
  try {
    reply = {
      kind: 'result',
      id: message.id,
      result: processedBatch(core, unpackRecords(message), message.nowMs, models?.status),
    };
  } catch (error) {
    reply = {
      kind: 'failed',
      id: message.id,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  port.postMessage(reply);
});
// Ready once the core is built and the first model load has been tried (a few hundred ms),
// so the first batches are already forecast; a failed load leaves baseline-only scoring.
void (models?.reload() ?? Promise.resolve()).finally(() => {
  port.postMessage({ kind: 'ready' } satisfies FromThread);
});
