import {
  AppsV1Api,
  Observable,
  PatchStrategy,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Deployment,
  type V1Scale,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { TargetError } from '../../errors.js';
import type {
  DriverContext,
  EffectReport,
  ObserveContext,
  TargetDriver,
  TargetObservation,
} from '../../execute/targetDriver.js';
import type { ActionEnvelope } from '../../dispatch/envelope.js';
import { kubernetesTargetError, type AbortCause } from './kubernetesErrors.js';
import type { KubernetesTargetSettings } from './kubernetesSettings.js';
import {
  DeploymentJsonSchema,
  REVISION_ANNOTATION,
  ReplicaSetListJsonSchema,
  labelSelectorString,
  restartPatch,
  restartedAtIn,
  restartedAtOf,
  rollbackPatch,
  rollbackSource,
  sameTemplateIgnoringHash,
} from './kubernetesRollout.js';

export {
  KubernetesTargetSettingsSchema,
  type KubernetesTargetSettings,
} from './kubernetesSettings.js';

/** How the driver talks to the API server. */
export interface KubernetesDriverOptions {
  /** Cluster, credentials and TLS (see `kubeConfigFrom`). */
  readonly kubeConfig: KubeConfig;
  /** Longest one API request may take (ms); past it the call fails as retriable. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Recorded by the API server as the manager of the fields our patches set (managedFields),
   * so `kubectl get -o yaml --show-managed-fields` shows healcast made the change. Default
   * `healcast`. (kubectl sends `kubectl-rollout` for restarts and lets the server derive one
   * from its user agent otherwise.)
   */
  readonly fieldManager?: string;
}

/** `restartMarker` of a workload that has never been rolling-restarted. */
export const NEVER_RESTARTED = 'never-restarted';

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

interface Target {
  readonly kind: KubernetesTargetSettings['kind'];
  readonly name: string;
  readonly namespace: string;
  /** `deployment shop/checkout`: how messages name the target. */
  readonly label: string;
}

/**
 * The Kubernetes target driver: the changes `kubectl scale`, `kubectl rollout restart` and
 * `kubectl rollout undo` make, through @kubernetes/client-node's AppsV1Api. Each method's
 * comment lists the requests kubectl makes and the ones this driver makes.
 *
 * Reads that feed a write back (rollback) take the response's raw JSON, not the client's
 * generated models: those drop every field they do not know, and a pod template restored from
 * them would silently lose fields newer than the client.
 */
export class KubernetesDriver implements TargetDriver<KubernetesTargetSettings> {
  readonly type = 'kubernetes' as const;
  private readonly apps: AppsV1Api;
  private readonly requestTimeoutMs: number;
  private readonly fieldManager: string;

  constructor(options: KubernetesDriverOptions) {
    this.apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fieldManager = options.fieldManager ?? 'healcast';
  }

  /** Everything, except rollback of a StatefulSet (its history is not in ReplicaSets). */
  supports(settings: KubernetesTargetSettings, action: ActionEnvelope['type']): boolean {
    return action !== 'rollback' || settings.kind === 'Deployment';
  }

  /**
   * Replicas from the scale subresource (the same permission `scale` needs, so the breaker's
   * half-open probe tests it), the rest from the workload: `restartedAt` as restart marker,
   * the revision (Deployment: `deployment.kubernetes.io/revision`; StatefulSet:
   * `status.updateRevision`), ready pods from status.
   */
  async observe(
    settings: KubernetesTargetSettings,
    ctx: ObserveContext,
  ): Promise<TargetObservation> {
    const target = targetOf(settings);
    const [scale, workload] = await Promise.all([
      this.readScale(target, 'observe', ctx),
      this.readWorkload(target, 'observe', ctx),
    ]);
    const revision =
      workload.kind === 'Deployment'
        ? workload.object.metadata?.annotations?.[REVISION_ANNOTATION]
        : workload.object.status?.updateRevision;
    return {
      // The Scale's spec.replicas is `omitempty`: absent means 0.
      replicas: scale.spec?.replicas ?? 0,
      restartMarker: restartedAtIn(workload.object.spec?.template) ?? NEVER_RESTARTED,
      ...(revision === undefined ? {} : { revision }),
      readyReplicas: workload.object.status?.readyReplicas ?? 0,
    };
  }

  /**
   * `kubectl scale --replicas=N deployment/x` GETs the deployment (resource builder), then
   * PATCHes `…/deployments/x/scale` with the merge patch `{"spec":{"replicas":N}}`
   * (`application/merge-patch+json`, k8s.io/kubectl/pkg/scale `ScaleSimple`). We GET the scale
   * subresource instead of the deployment (to report the count we changed), then send the same
   * PATCH, with `fieldManager`. The count is absolute, so re-applying it is harmless.
   */
  async scale(
    settings: KubernetesTargetSettings,
    replicas: number,
    ctx: DriverContext,
  ): Promise<EffectReport> {
    const target = targetOf(settings);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new TargetError(
        `${target.label}: scale to ${replicas} refused: replicas must be a whole number ≥ 0`,
        { retriable: false },
      );
    }
    const before = await this.readScale(target, 'scale', ctx);
    const request = {
      ...refOf(target),
      body: { spec: { replicas } },
      fieldManager: this.fieldManager,
    };
    const after = await this.call(
      target,
      'scale',
      ctx,
      (options) =>
        target.kind === 'Deployment'
          ? this.apps.patchNamespacedDeploymentScale(request, options)
          : this.apps.patchNamespacedStatefulSetScale(request, options),
      PatchStrategy.MergePatch,
    );
    const fromReplicas = before.spec?.replicas ?? 0;
    const toReplicas = after.spec?.replicas ?? 0;
    return {
      summary: `scaled ${target.label} from ${fromReplicas} to ${toReplicas} replicas`,
      details: { fromReplicas, toReplicas },
    };
  }

  /**
   * `kubectl rollout restart deployment/x` GETs the deployment, refuses a paused one, sets the
   * pod-template annotation `kubectl.kubernetes.io/restartedAt` to now and PATCHes the
   * difference as a strategic merge patch
   * `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"…"}}}}}`
   * (`application/strategic-merge-patch+json`, `fieldManager=kubectl-rollout`). We make the
   * same GET and the same PATCH (our field manager), with the executor's intent time instead of
   * now — see `restartedAtOf`: when the annotation already has that value the restart happened
   * (this action, before a crash) and we send nothing, where kubectl reports an empty patch.
   */
  async restart(settings: KubernetesTargetSettings, ctx: DriverContext): Promise<EffectReport> {
    const target = targetOf(settings);
    const restartedAt = restartedAtOf(ctx.intentAtMs);
    const workload = await this.readWorkload(target, 'restart', ctx);
    if (workload.kind === 'Deployment' && workload.object.spec?.paused === true) {
      throw new TargetError(
        `${target.label}: restart refused: can't restart paused deployment (run rollout resume first)`,
        { retriable: false },
      );
    }
    const previous = restartedAtIn(workload.object.spec?.template);
    if (previous === restartedAt) {
      return {
        summary: `${target.label} was already restarted at ${restartedAt} (no change)`,
        details: { restartedAt, alreadyApplied: true },
      };
    }
    await this.patchWorkload(
      target,
      'restart',
      ctx,
      restartPatch(restartedAt),
      PatchStrategy.StrategicMergePatch,
    );
    return {
      summary: `restarted ${target.label} (rolling restart, restartedAt ${restartedAt})`,
      details: { restartedAt, previousRestartedAt: previous ?? null },
    };
  }

  /**
   * `kubectl rollout undo deployment/x [--to-revision=N]` (DeploymentRollbacker): GET the
   * deployment (twice: builder and rollbacker), LIST its ReplicaSets
   * (`GET …/replicasets?labelSelector=<spec.selector>`, kept when controlled by its uid), pick
   * revision N or the previous one, refuse a paused deployment, skip when the template already
   * matches, and PATCH the deployment with the JSON patch
   * `[{"op":"replace","path":"/spec/template","value":<RS template without pod-template-hash>},
   *   {"op":"replace","path":"/metadata/annotations","value":<see rollbackPatch>}]`
   * (`application/json-patch+json`). We make one GET, the same LIST and the same PATCH; the
   * target revision comes from `parameters.toRevision` when the policy gives it.
   *
   * Not idempotent without `toRevision`: undoing twice goes back and forth between two
   * revisions. The executor observes `revision` before and after (the controller renumbers the
   * restored ReplicaSet to a new highest revision) and does not call again once it changed.
   *
   * StatefulSets are refused: their history is in ControllerRevisions, which this driver does
   * not read (`supports` says so up front).
   */
  async rollback(settings: KubernetesTargetSettings, ctx: DriverContext): Promise<EffectReport> {
    const target = targetOf(settings);
    if (target.kind !== 'Deployment') {
      throw new TargetError(
        `${target.label}: rollback is not supported for StatefulSets: their history is kept in ` +
          'ControllerRevisions, which this driver does not read (use kubectl rollout undo ' +
          `statefulset/${target.name}, or re-apply the previous manifest)`,
        { retriable: false },
      );
    }
    const toRevision = toRevisionOf(target, ctx.envelope.parameters);
    const deployment = parseOrThrow(
      target,
      DeploymentJsonSchema,
      await this.readJson(target, 'rollback', ctx, (options) =>
        this.apps.readNamespacedDeployment(refOf(target), options),
      ),
    );
    const labelSelector = labelSelectorString(deployment.spec.selector);
    const list = parseOrThrow(
      target,
      ReplicaSetListJsonSchema,
      await this.readJson(target, 'rollback', ctx, (options) =>
        this.apps.listNamespacedReplicaSet({ namespace: target.namespace, labelSelector }, options),
      ),
    );
    const source = rollbackSource(deployment, list.items ?? [], toRevision);
    if (!source.found) {
      throw new TargetError(`${target.label}: rollback failed: ${source.reason}`, {
        retriable: false,
      });
    }
    if (deployment.spec.paused === true) {
      throw new TargetError(
        `${target.label}: rollback refused: you cannot rollback a paused deployment; resume it ` +
          "first with 'kubectl rollout resume' and try again",
        { retriable: false },
      );
    }
    const fromRevision = deployment.metadata.annotations?.[REVISION_ANNOTATION] ?? null;
    const details = {
      fromRevision,
      toRevision: source.revision,
      replicaSet: source.replicaSet.metadata.name,
    };
    if (sameTemplateIgnoringHash(source.replicaSet.spec.template, deployment.spec.template)) {
      return {
        summary: `skipped rollback of ${target.label}: current template already matches revision ${source.revision}`,
        details: { ...details, skipped: true },
      };
    }
    await this.patchWorkload(
      target,
      'rollback',
      ctx,
      rollbackPatch(deployment, source.replicaSet),
      PatchStrategy.JsonPatch,
    );
    return {
      summary: `rolled back ${target.label} from revision ${fromRevision ?? '?'} to revision ${source.revision}`,
      details,
    };
  }

  /** Nothing to release: the client holds no session, only idle sockets its agent closes. */
  async close(): Promise<void> {}

  private async readScale(target: Target, step: string, ctx: ObserveContext): Promise<V1Scale> {
    return this.call(target, step, ctx, (options) =>
      target.kind === 'Deployment'
        ? this.apps.readNamespacedDeploymentScale(refOf(target), options)
        : this.apps.readNamespacedStatefulSetScale(refOf(target), options),
    );
  }

  private async patchWorkload(
    target: Target,
    step: string,
    ctx: DriverContext,
    body: unknown,
    patchType: PatchStrategy,
  ): Promise<void> {
    const request = { ...refOf(target), body, fieldManager: this.fieldManager };
    await this.call(
      target,
      step,
      ctx,
      (options) =>
        target.kind === 'Deployment'
          ? this.apps.patchNamespacedDeployment(request, options)
          : this.apps.patchNamespacedStatefulSet(request, options),
      patchType,
    );
  }

  private async readWorkload(
    target: Target,
    step: string,
    ctx: ObserveContext,
  ): Promise<
    | { readonly kind: 'Deployment'; readonly object: V1Deployment }
    | { readonly kind: 'StatefulSet'; readonly object: V1StatefulSet }
  > {
    return target.kind === 'Deployment'
      ? {
          kind: 'Deployment',
          object: await this.call(target, step, ctx, (options) =>
            this.apps.readNamespacedDeployment(refOf(target), options),
          ),
        }
      : {
          kind: 'StatefulSet',
          object: await this.call(target, step, ctx, (options) =>
            this.apps.readNamespacedStatefulSet(refOf(target), options),
          ),
        };
  }

  /** A read whose result is the response's JSON as the server sent it (see the class comment). */
  private async readJson(
    target: Target,
    step: string,
    ctx: ObserveContext,
    request: (options: ConfigurationOptions) => Promise<unknown>,
  ): Promise<unknown> {
    let text: string | undefined;
    const capture: ObservableMiddleware = {
      pre: (context) => new Observable(Promise.resolve(context)),
      post: (response) =>
        new Observable(
          response.body.text().then((body) => {
            text = body;
            // The client reads the body again to build its model: hand it the same text.
            response.body = { ...response.body, text: () => Promise.resolve(body) };
            return response;
          }),
        ),
    };
    await this.call(target, step, ctx, request, undefined, capture);
    try {
      return JSON.parse(text ?? '') as unknown;
    } catch (error) {
      throw new TargetError(
        `${target.label}: ${step} failed: the API server's answer is not JSON`,
        {
          retriable: false,
          cause: error,
        },
      );
    }
  }

  /**
   * One API request with our signal (the action's, bounded by `requestTimeoutMs`) and, for a
   * PATCH, the patch type as Content-Type; failures become `TargetError`s.
   */
  private async call<T>(
    target: Target,
    step: string,
    ctx: ObserveContext,
    request: (options: ConfigurationOptions) => Promise<T>,
    contentType?: PatchStrategy,
    ...more: ObservableMiddleware[]
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const middleware: ObservableMiddleware[] = [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
      ...(contentType === undefined ? [] : [setHeaderMiddleware('Content-Type', contentType)]),
      ...more,
    ];
    try {
      return await request({ middleware, middlewareMergeStrategy: 'append' });
    } catch (error) {
      const cause: AbortCause | undefined = ctx.signal.aborted
        ? 'action-timeout'
        : timeout.aborted
          ? 'request-timeout'
          : undefined;
      throw kubernetesTargetError(
        `${target.label}: ${step}`,
        error,
        cause === undefined ? undefined : { cause, timeoutMs: this.requestTimeoutMs },
      );
    }
  }
}

function targetOf(settings: KubernetesTargetSettings): Target {
  return {
    kind: settings.kind,
    name: settings.name,
    namespace: settings.namespace,
    label: `${settings.kind.toLowerCase()} ${settings.namespace}/${settings.name}`,
  };
}

function refOf(target: Target): { name: string; namespace: string } {
  return { name: target.name, namespace: target.namespace };
}

/** `parameters.toRevision` (a positive whole number, or its decimal string); 0 = the previous. */
function toRevisionOf(target: Target, parameters: Record<string, unknown>): number {
  const value = parameters['toRevision'];
  if (value === undefined || value === null) return 0;
  const revision = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 0) {
    throw new TargetError(
      `${target.label}: rollback refused: parameters.toRevision must be a revision number, got ${JSON.stringify(value)}`,
      { retriable: false },
    );
  }
  return revision;
}

function parseOrThrow<T>(target: Target, schema: z.ZodType<T>, json: unknown): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new TargetError(
      `${target.label}: rollback failed: unexpected answer from the API server: ${z.prettifyError(parsed.error)}`,
      { retriable: false, cause: parsed.error },
    );
  }
  return parsed.data;
}
