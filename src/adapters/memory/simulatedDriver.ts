import { z } from 'zod';
import type { ActionEnvelope } from '../../dispatch/envelope.js';
import type {
  DriverContext,
  EffectReport,
  ObserveContext,
  TargetDriver,
  TargetObservation,
} from '../../execute/targetDriver.js';

/** A simulated target: a replica count, a restart counter and a revision, in memory. */
export const SimulatedTargetSettingsSchema = z.strictObject({
  /** Replicas it starts with. */
  replicas: z.number().int().min(0).default(1),
  /** Revision it starts at (rollback steps back one, never below 1). */
  revision: z.number().int().min(1).default(2),
});
export type SimulatedTargetSettings = z.output<typeof SimulatedTargetSettingsSchema>;

/**
 * SimulatedDriver — a TargetDriver that changes nothing outside the process: for the embedded
 * demo (so `npm start` shows the executor's real decisions without a PM2 daemon or a
 * cluster) and for trying an allow-list and its guardrails before pointing them at anything.
 * State is per settings object, i.e. per allow-listed target.
 */
export class SimulatedDriver implements TargetDriver<SimulatedTargetSettings> {
  readonly type = 'simulated' as const;
  private readonly state = new WeakMap<
    SimulatedTargetSettings,
    { replicas: number; restarts: number; revision: number }
  >();

  supports(_settings: SimulatedTargetSettings, _action: ActionEnvelope['type']): boolean {
    return true;
  }

  observe(settings: SimulatedTargetSettings, _ctx: ObserveContext): Promise<TargetObservation> {
    const s = this.of(settings);
    return Promise.resolve({
      replicas: s.replicas,
      readyReplicas: s.replicas,
      restartMarker: String(s.restarts),
      revision: String(s.revision),
    });
  }

  scale(
    settings: SimulatedTargetSettings,
    replicas: number,
    _ctx: DriverContext,
  ): Promise<EffectReport> {
    const s = this.of(settings);
    const from = s.replicas;
    s.replicas = replicas;
    return Promise.resolve({
      summary: `simulated: ${from} → ${replicas} replicas`,
      details: { from, to: replicas },
    });
  }

  restart(settings: SimulatedTargetSettings, _ctx: DriverContext): Promise<EffectReport> {
    const s = this.of(settings);
    s.restarts++;
    return Promise.resolve({ summary: `simulated: restarted (${s.restarts} so far)` });
  }

  rollback(settings: SimulatedTargetSettings, _ctx: DriverContext): Promise<EffectReport> {
    const s = this.of(settings);
    const from = s.revision;
    s.revision = Math.max(1, s.revision - 1);
    return Promise.resolve({
      summary: `simulated: rolled back from revision ${from} to ${s.revision}`,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private of(settings: SimulatedTargetSettings) {
    let s = this.state.get(settings);
    if (s === undefined) {
      s = { replicas: settings.replicas, restarts: 0, revision: settings.revision };
      this.state.set(settings, s);
    }
    return s;
  }
}
