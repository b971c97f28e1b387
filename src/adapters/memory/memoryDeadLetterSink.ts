import type { DeadLetter, DeadLetterSink } from '../../ingest/source.js';

/**
 * The embedded demo's dead-letter place: keeps the most recent letters in memory (bounded).
 * The worker logs each with its reason and counts them by reason in /metrics.
 */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];

  constructor(private readonly capacity = 10_000) {}

  send(letters: readonly DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
    if (this.letters.length > this.capacity)
      this.letters.splice(0, this.letters.length - this.capacity);
    return Promise.resolve();
  }

  isReady(): boolean {
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
