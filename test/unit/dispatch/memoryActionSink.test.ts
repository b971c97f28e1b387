import { MemoryActionSink } from '../../../src/adapters/memory/memoryActionSink.js';
import { actionSinkContract } from '../../contract/actionSink.contract.js';

actionSinkContract('MemoryActionSink', () => {
  const sink = new MemoryActionSink();
  return Promise.resolve({
    sink,
    read: () => Promise.resolve(sink.entries.map((a) => a.actionId)),
  });
});
