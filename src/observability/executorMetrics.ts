import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The executor's metrics, on an injected registry (see WorkerMetrics for the conventions). */
export class ExecutorMetrics {
  readonly outcomes: Counter<'type' | 'status' | 'reason'>;
  readonly attempts: Counter<'target' | 'result'>;
  readonly actionSeconds: Histogram<'type'>;
  readonly breakerState: Gauge<'target'>;
  readonly breakerTransitions: Counter<'target' | 'state'>;
  readonly escalations: Counter<'reason'>;
  readonly deadLetters: Counter<'reason'>;
  readonly invalid: Counter;
  readonly duplicates: Counter;
  readonly reclaimed: Counter;
  readonly resumed: Counter;
  readonly breakerResumed: Counter<'target'>;
  readonly leaseBusy: Counter;
  readonly killSwitch: Gauge<'source'>;
  readonly ready: Gauge;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.outcomes = new Counter({
      name: 'healcast_executor_actions_total',
      help: 'Actions the executor decided on, by type, outcome status (succeeded, failed, skipped, deferred) and reason.',
      labelNames: ['type', 'status', 'reason'],
      registers,
    });
    this.attempts = new Counter({
      name: 'healcast_executor_attempts_total',
      help: 'Driver calls per target by result: ok, retriable_error, permanent_error.',
      labelNames: ['target', 'result'],
      registers,
    });
    this.actionSeconds = new Histogram({
      name: 'healcast_executor_action_duration_seconds',
      help: 'Time a successful driver call took, by action type.',
      labelNames: ['type'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'healcast_executor_breaker_state',
      help: "Circuit breaker per target: 0 closed, 1 half-open, 2 open (the target's actions go to the escalation stream).",
      labelNames: ['target'],
      registers,
    });
    this.breakerTransitions = new Counter({
      name: 'healcast_executor_breaker_transitions_total',
      help: 'Circuit breaker state changes per target, by the state entered.',
      labelNames: ['target', 'state'],
      registers,
    });
    this.escalations = new Counter({
      name: 'healcast_executor_escalations_total',
      help: 'Actions handed to a human on the escalation stream, by reason (awaiting_approval, breaker_open).',
      labelNames: ['reason'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'healcast_executor_dead_letters_total',
      help: 'Actions moved to the dead-letter stream, by reason (retries_exhausted, permanent_error, invalid_action).',
      labelNames: ['reason'],
      registers,
    });
    this.invalid = new Counter({
      name: 'healcast_executor_invalid_entries_total',
      help: 'Stream entries that were not valid action envelopes (dead-lettered).',
      registers,
    });
    this.duplicates = new Counter({
      name: 'healcast_executor_duplicate_deliveries_total',
      help: 'Deliveries of an action already recorded (acknowledged without acting again).',
      registers,
    });
    this.reclaimed = new Counter({
      name: 'healcast_executor_reclaimed_total',
      help: 'Entries re-claimed from executors that stopped or died (XAUTOCLAIM after the visibility timeout).',
      registers,
    });
    this.resumed = new Counter({
      name: 'healcast_executor_resumed_total',
      help: 'Actions resumed from a journaled intent after an executor stopped mid-action.',
      registers,
    });
    this.breakerResumed = new Counter({
      name: 'healcast_executor_breaker_resumed_total',
      help: 'Actions deferred by an open breaker that went back on the actions stream when it closed.',
      labelNames: ['target'],
      registers,
    });
    this.leaseBusy = new Counter({
      name: 'healcast_executor_lease_busy_total',
      help: 'Deliveries left alone because another executor held the action lease.',
      registers,
    });
    this.killSwitch = new Gauge({
      name: 'healcast_executor_kill_switch',
      help: '1 while the kill switch is on (source: env, config or redis).',
      labelNames: ['source'],
      registers,
    });
    this.ready = new Gauge({
      name: 'healcast_executor_ready',
      help: '1 when the executor can read the actions stream.',
      registers,
    });
  }
}
