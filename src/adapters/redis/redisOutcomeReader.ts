import type { Redis } from 'ioredis';
import { createRedis } from './redisClient.js';
import type { RedisKeys } from '../../dispatch/keys.js';
import { OutcomeSchema, type Outcome } from '../../execute/outcome.js';
import type { Logger } from '../../observability/logger.js';

/** Moves a cooldown record later, never earlier. KEYS: cooldown. ARGV: anchorMs, ttlMs. */
const EXTEND_COOLDOWN_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local anchor = tonumber(ARGV[1])
if anchor > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

type OutcomeRedis = Redis & {
  healcastExtendCooldown(key: string, anchorMs: number, ttlMs: number): Promise<number>;
};

export interface RedisOutcomeReaderOptions {
  readonly url: string;
  readonly keys: RedisKeys;
  readonly markerTtlMs: number;
  /** On start, read outcomes this far back (stream ids are times), so a restart misses none. */
  readonly lookbackMs: number;
}

/**
 * The worker's side of the outcomes stream. Every worker instance reads all outcomes (plain
 * XREAD, no group): each needs them for the fires it made, and what it does with them is
 * idempotent (cooldowns only move later; verdicts are joined by fire id).
 */
export class RedisOutcomeReader {
  private readonly redis: OutcomeRedis;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastId: string;

  constructor(
    private readonly options: RedisOutcomeReaderOptions,
    private readonly onOutcome: (outcome: Outcome) => void,
    private readonly onInvalid: (reason: string) => void,
    private readonly log: Logger,
  ) {
    const redis = createRedis(options.url);
    redis.defineCommand('healcastExtendCooldown', { numberOfKeys: 1, lua: EXTEND_COOLDOWN_LUA });
    this.redis = redis as OutcomeRedis;
    this.lastId = `${Math.max(0, Date.now() - options.lookbackMs)}-0`;
  }

  async start(): Promise<void> {
    await this.redis.connect();
    this.loop = this.run();
  }

  /** Starts the (policy, target) cooldown no earlier than anchorMs (event time). */
  async extendCooldown(cooldownKey: string, anchorMs: number): Promise<boolean> {
    const changed = await this.redis.healcastExtendCooldown(
      this.options.keys.cooldown(cooldownKey),
      anchorMs,
      this.options.markerTtlMs,
    );
    return changed === 1;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const reply = await this.redis.xread(
          'COUNT',
          256,
          'BLOCK',
          1_000,
          'STREAMS',
          this.options.keys.outcomesStream,
          this.lastId,
        );
        for (const [, entries] of reply ?? []) {
          for (const [id, flat] of entries) {
            this.lastId = id;
            this.handle(flat);
          }
        }
      } catch (error) {
        if (this.stopping) return;
        this.log.warn(
          { event: 'outcomes_read_failed', error: String(error) },
          'could not read the outcomes stream; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private handle(flat: string[]): void {
    const index = flat.indexOf('outcome');
    const raw = index >= 0 ? flat[index + 1] : undefined;
    if (raw === undefined) return this.onInvalid('entry has no outcome field');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return this.onInvalid('outcome is not JSON');
    }
    const parsed = OutcomeSchema.safeParse(json);
    if (!parsed.success)
      return this.onInvalid(`outcome invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    this.onOutcome(parsed.data);
  }
}
