import type { ActionEnvelope } from '../../dispatch/envelope.js';
import type { Logger } from '../../observability/logger.js';
import type { MemoryActionSink } from './memoryActionSink.js';

/**
 * The embedded demo's executor: takes actions from the in-process queue and logs what a real
 * executor would do. It changes nothing anywhere.
 */
export class LoggingExecutor {
  private running: Promise<void> | undefined;
  executed = 0;

  constructor(
    private readonly queue: MemoryActionSink,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves once the queue is closed and drained. */
  async stopped(): Promise<void> {
    await this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const action = await this.queue.take();
      if (action === undefined) return;
      this.executed++;
      this.log.info(
        {
          event: 'action_logged',
          actionId: action.actionId,
          policy: action.policy,
          type: action.type,
          target: action.target,
        },
        `executor (logging only, nothing changed): would ${describe(action)}`,
      );
    }
  }
}

/** Human-readable summary of an action, e.g. `scale service/web by +2 (max 10)`. */
export function describe(action: ActionEnvelope): string {
  const target = `${action.target.kind}/${action.target.namespace ? action.target.namespace + '/' : ''}${action.target.name}`;
  if (action.type === 'scale' && action.scale) {
    const { mode, replicas, minReplicas, maxReplicas } = action.scale;
    const amount =
      mode === 'relative' ? `by ${replicas > 0 ? '+' : ''}${replicas}` : `to ${replicas}`;
    const bounds = [
      minReplicas === undefined ? '' : `min ${minReplicas}`,
      maxReplicas === undefined ? '' : `max ${maxReplicas}`,
    ]
      .filter((s) => s !== '')
      .join(', ');
    return `scale ${target} ${amount}${bounds ? ` (${bounds})` : ''}`;
  }
  return `${action.type} ${target}`;
}
