import type { ActionSink, EnqueueResult } from '../dispatch/actionSink.js';
import type { Fire } from '../dispatch/envelope.js';

/**
 * Test-only fault injection: an ActionSink decorator that kills the process with SIGKILL right
 * after the N-th enqueue that actually enqueued something — after the actions are in Redis,
 * before the source commits. That is the moment a worker crash is most likely to duplicate
 * actions, so the integration tests crash there on purpose. Enabled only by the environment
 * variable HEALCAST_TEST_CRASH_AFTER_ENQUEUES (never set it in production).
 */
export class CrashAfterEnqueues implements ActionSink {
  private successes = 0;

  constructor(
    private readonly inner: ActionSink,
    private readonly crashAfter: number,
  ) {}

  async enqueue(fires: readonly Fire[]): Promise<EnqueueResult[]> {
    const results = await this.inner.enqueue(fires);
    if (results.some((r) => r.status === 'enqueued') && ++this.successes >= this.crashAfter) {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => undefined); // never resolves: the commit must not happen
    }
    return results;
  }

  isReady(): boolean {
    return this.inner.isReady();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
