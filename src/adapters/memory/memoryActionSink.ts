import type { ActionSink, EnqueueResult } from '../../dispatch/actionSink.js';
import type { ActionEnvelope, Fire } from '../../dispatch/envelope.js';

/**
 * MemoryActionSink — the ActionSink port as an in-process queue, for the embedded demo and
 * tests. Same contract as the Redis sink (dedupe by fire id, durable-for-the-process
 * cooldown), so the contract suite runs against both.
 */
export class MemoryActionSink implements ActionSink {
  private readonly seenFires = new Set<string>();
  private readonly lastFiredAtMs = new Map<string, number>();
  private readonly queue: ActionEnvelope[] = [];
  /** Everything ever enqueued (newest `historyLimit`), whether taken or not. */
  private readonly history: ActionEnvelope[] = [];
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private sequence = 0;

  constructor(private readonly historyLimit = 10_000) {}

  enqueue(fires: readonly Fire[]): Promise<EnqueueResult[]> {
    const results = fires.map((fire): EnqueueResult => {
      if (this.seenFires.has(fire.fireId)) return { fireId: fire.fireId, status: 'duplicate' };
      const last = this.lastFiredAtMs.get(fire.cooldownKey);
      if (last !== undefined && Math.abs(fire.observedAtMs - last) < fire.cooldownMs) {
        return { fireId: fire.fireId, status: 'cooling_down', lastFiredAtMs: last };
      }
      this.seenFires.add(fire.fireId);
      if (last === undefined || fire.observedAtMs > last) {
        this.lastFiredAtMs.set(fire.cooldownKey, fire.observedAtMs);
      }
      this.queue.push(...fire.actions);
      this.history.push(...fire.actions);
      if (this.history.length > this.historyLimit) {
        this.history.splice(0, this.history.length - this.historyLimit);
      }
      const entryIds = fire.actions.map(() => `mem-${++this.sequence}`);
      return { fireId: fire.fireId, status: 'enqueued', entryIds };
    });
    for (const wake of this.waiters.splice(0)) wake();
    return Promise.resolve(results);
  }

  /** Puts an action taken before back at the end of the queue (a resumed deferred action). */
  requeue(action: ActionEnvelope): void {
    this.queue.push(action);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Everything enqueued so far, oldest first, including actions already taken. */
  get entries(): readonly ActionEnvelope[] {
    return this.history;
  }

  /** Removes and returns queued actions, waiting for one when the queue is empty. */
  async take(): Promise<ActionEnvelope | undefined> {
    while (this.queue.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.queue.shift();
  }

  /** Removes up to `count` queued actions, waiting up to `waitMs` for one when none is queued. */
  async takeUpTo(count: number, waitMs: number): Promise<ActionEnvelope[]> {
    if (this.queue.length === 0 && !this.closed && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.queue.splice(0, count);
  }

  isReady(): boolean {
    return !this.closed;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiters.splice(0)) wake();
    return Promise.resolve();
  }
}
