import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../pipeline/clock.js';

/** The real clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch {
      // Aborted: the caller checks why it woke up.
    }
  },
};
