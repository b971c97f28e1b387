/**
 * Deployment watch windows (automatic rollbacks): which deployment, if any, a breach at some
 * event time may be blamed on. Pure: events and times in, answers out.
 *
 * Per service only the latest deployment by event time is kept. A newer one moves the window
 * (the release before it is no longer what runs, so it cannot be rolled back any more); an
 * older one arriving late — the deployments topic is read alongside the metrics, in no
 * particular order with them — is ignored rather than allowed to move the window back.
 */
import type { DeploymentEvent } from '../ingest/deploymentEvent.js';

/** Services remembered by default: far more than one worker's policies usually watch. */
export const DEFAULT_MAX_DEPLOYMENT_SERVICES = 10_000;

/** What {@link DeploymentWindows.record} did with a deployment. */
export type RecordOutcome =
  /** It is now the service's latest deployment. */
  | 'recorded'
  /** The service already has a deployment at the same or a later time: kept as it was. */
  | 'superseded';

/**
 * The latest deployment of each service, bounded: past `maxServices` the service whose
 * deployment was recorded longest ago is forgotten. Deployments are rare and arrive roughly
 * in time order, so that is in practice the one whose window closed longest ago.
 */
export class DeploymentWindows {
  /** Latest deployment per service; Map order = order of recording (oldest first). */
  private readonly latestByService = new Map<string, DeploymentEvent>();

  constructor(private readonly maxServices = DEFAULT_MAX_DEPLOYMENT_SERVICES) {}

  /** Records a deployment unless the service already has one at the same or a later time. */
  record(deployment: DeploymentEvent): RecordOutcome {
    const current = this.latestByService.get(deployment.service);
    // Same time: a producer retry or a duplicate on the topic; the first one stands.
    if (current !== undefined && current.deployedAtMs >= deployment.deployedAtMs) {
      return 'superseded';
    }
    // Delete first so the service moves to the end of the recording order.
    this.latestByService.delete(deployment.service);
    this.latestByService.set(deployment.service, deployment);
    if (this.latestByService.size > this.maxServices) {
      const oldest = this.latestByService.keys().next().value;
      if (oldest !== undefined) this.latestByService.delete(oldest);
    }
    return 'recorded';
  }

  /**
   * The latest deployment of `service` if its window — `windowMs` from the deployment on,
   * both ends included — contains event time `atMs`; otherwise undefined (no deployment on
   * record, `atMs` before it, or the window is over).
   */
  openWindow(service: string, atMs: number, windowMs: number): DeploymentEvent | undefined {
    const deployment = this.latestByService.get(service);
    if (deployment === undefined) return undefined;
    const sinceMs = atMs - deployment.deployedAtMs;
    return sinceMs >= 0 && sinceMs <= windowMs ? deployment : undefined;
  }

  /** The latest deployment on record for `service`, if any. */
  latest(service: string): DeploymentEvent | undefined {
    return this.latestByService.get(service);
  }

  /** Number of services with a deployment on record. */
  get size(): number {
    return this.latestByService.size;
  }
}
