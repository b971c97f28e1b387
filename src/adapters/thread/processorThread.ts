// Entry of the processor thread: the pure core (decode, baselines, policies) on its own core,
// fed packed batches by ThreadBatchProcessor. Messages are handled strictly in order.
import { parentPort, workerData } from 'node:worker_threads';
import { toPipelinePolicy } from '../../pipeline/pipelinePolicy.js';
import { Processor } from '../../pipeline/processor.js';
import { unpackRecords, type FromThread, type ThreadInit, type ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('processorThread must run in a worker thread');
const init = workerData as ThreadInit;
const core = new Processor({ ...init.settings, policies: init.policies.map(toPipelinePolicy) });

port.on('message', (message: ToThread) => {
  if (message.kind === 'sync') {
    core.syncCooldown(message.policy, message.cooldownKey, message.lastFiredAtMs);
    return;
  }
  let reply: FromThread;
  try {
    const { fires, deadLetters, stats } = core.processBatch(unpackRecords(message), message.nowMs);
    reply = {
      kind: 'result',
      id: message.id,
      result: {
        fires,
        deadLetters,
        stats,
        liveSeries: core.liveSeries,
        breaching: [...core.breachingSeries()],
      },
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
port.postMessage({ kind: 'ready' } satisfies FromThread);
