import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A fake Kubernetes API server for tests — no cluster can run here. It is a real node:http
 * server on 127.0.0.1 that answers the apps/v1 paths healcast's Kubernetes driver uses, with
 * the bodies, content types and status codes a real API server gives, over an in-memory state
 * that behaves like the deployment controller where it matters to remediation:
 *
 * - A change of a Deployment's pod template is a new revision: the controller reuses the
 *   ReplicaSet whose template equals the new one (ignoring `pod-template-hash`) and renumbers
 *   it to the next revision — recording the old number in `deployment.kubernetes.io/revision-history`
 *   — or creates a ReplicaSet `<name>-<hash>` with the next revision. The Deployment's
 *   `deployment.kubernetes.io/revision` annotation follows its current ReplicaSet. Replica
 *   changes are not revisions. A paused Deployment does not roll out (no new ReplicaSet), as
 *   in the real controller. Old ReplicaSets beyond `spec.revisionHistoryLimit` (10) are deleted.
 * - Rollouts complete at once: the current ReplicaSet gets all replicas, old ones none, and
 *   `status` reports them ready (capped by `maxReadyReplicas`, which simulates pods that never
 *   become ready, e.g. a bad image). `metadata.generation` counts spec changes and
 *   `status.observedGeneration` has caught up.
 * - StatefulSets keep `status.updateRevision` = `<name>-<hash of template>` (what a
 *   ControllerRevision name looks like); their history is not modelled.
 *
 * Answers (JSON; errors are `Status` objects with `reason` and `code`):
 *   GET   /apis/apps/v1/namespaces/{ns}/deployments/{name}
 *   PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}
 *   GET   /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale   (autoscaling/v1 Scale)
 *   PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale
 *   GET   /apis/apps/v1/namespaces/{ns}/replicasets?labelSelector=…   (equality and set-based)
 *   the same four for /statefulsets/
 * PATCH accepts `application/json-patch+json` (RFC 6902: add, remove, replace, test),
 * `application/merge-patch+json` (RFC 7386) and `application/strategic-merge-patch+json`,
 * approximated as a merge patch whose lists of objects with a `name` merge by name (as
 * containers, env and volumes do); `$patch` directives are not supported. Anything else is
 * 415. A patched object is validated (replicas an integer ≥ 0, a template with containers …)
 * and rejected with 422 like the real server; name, namespace and uid cannot be changed.
 *
 * Every request is recorded (`requests`) with method, path, query, content type, parsed body
 * and the status answered, so tests can assert the exact calls. `failNext(n, status)` makes
 * the next n requests fail with that status; `stallNext(n)` leaves the next n unanswered
 * until the client gives up (timeouts).
 */

/** One request the fake received, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  /** URL path without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The Content-Type header without parameters (`charset`), when sent. */
  readonly contentType: string | undefined;
  /** The body parsed as JSON (the raw text when it is not JSON; undefined when empty). */
  readonly body: unknown;
  /** The HTTP status answered (0 while a stalled request is unanswered). */
  readonly status: number;
}

/** A Deployment to start with. */
export interface FakeDeploymentSeed {
  readonly name: string;
  /** Default `default`. */
  readonly namespace?: string;
  /** Default 1. */
  readonly replicas?: number;
  /**
   * The container image of each rollout so far, oldest first (default `[<name>:1.0.0]`): the
   * Deployment starts at revision `images.length` with one ReplicaSet per image.
   */
  readonly images?: readonly string[];
  /** Extra annotations on the Deployment (copied to its ReplicaSets, e.g. change-cause). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Paused after its rollouts (`kubectl rollout pause`). */
  readonly paused?: boolean;
  /** Pods that can become ready at most (default: all). */
  readonly maxReadyReplicas?: number;
}

/** A StatefulSet to start with. */
export interface FakeStatefulSetSeed {
  readonly name: string;
  readonly namespace?: string;
  readonly replicas?: number;
  readonly image?: string;
  readonly maxReadyReplicas?: number;
}

export interface FakeKubernetesOptions {
  readonly deployments?: readonly FakeDeploymentSeed[];
  readonly statefulSets?: readonly FakeStatefulSetSeed[];
}

/** A running fake API server. */
export interface FakeKubernetes {
  /** `http://127.0.0.1:<port>`: the `server` of a kubeconfig without credentials. */
  readonly url: string;
  readonly state: FakeClusterState;
  /** Every request so far, in arrival order (clear with `requests.length = 0`). */
  readonly requests: RecordedRequest[];
  /** The next `count` requests, whatever their path, fail with `status` (a `Status` body). */
  failNext(count: number, status: number): void;
  /** The next `count` requests get no answer until the client aborts or the fake closes. */
  stallNext(count: number): void;
  close(): Promise<void>;
}

/** The workload kinds the fake serves. */
export type FakeWorkloadKind = 'Deployment' | 'StatefulSet';

const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Deployment annotations the controller does not copy to ReplicaSets (deploymentutil). */
const NOT_COPIED_TO_REPLICA_SETS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);
const DEFAULT_REVISION_HISTORY_LIMIT = 10;

const LabelsSchema = z.record(z.string(), z.string());
const PodTemplateSchema = z.looseObject({
  metadata: z
    .looseObject({ labels: LabelsSchema.optional(), annotations: LabelsSchema.optional() })
    .optional(),
  spec: z.looseObject({
    containers: z
      .array(z.looseObject({ name: z.string().min(1), image: z.string().min(1) }))
      .min(1),
  }),
});
const MetadataSchema = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  uid: z.string(),
  resourceVersion: z.string(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string(),
  labels: LabelsSchema.optional(),
  annotations: LabelsSchema.optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
      }),
    )
    .optional(),
});
const SelectorSchema = z.looseObject({
  matchLabels: LabelsSchema.optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const WorkloadSpecSchema = z.looseObject({
  replicas: z.number().int().min(0),
  selector: SelectorSchema,
  template: PodTemplateSchema,
});
const DeploymentSchema = z.looseObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: MetadataSchema,
  spec: WorkloadSpecSchema.extend({
    paused: z.boolean().optional(),
    revisionHistoryLimit: z.number().int().min(0).optional(),
  }),
  status: z.looseObject({}).optional(),
});
const StatefulSetSchema = z.looseObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('StatefulSet'),
  metadata: MetadataSchema,
  spec: WorkloadSpecSchema.extend({ serviceName: z.string().optional() }),
  status: z.looseObject({}).optional(),
});
const ReplicaSetSchema = z.looseObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('ReplicaSet'),
  metadata: MetadataSchema,
  spec: WorkloadSpecSchema,
  status: z.looseObject({}).optional(),
});
const ScaleSchema = z.looseObject({
  spec: z.looseObject({ replicas: z.number().int().min(0).optional() }),
});

export type FakeDeployment = z.infer<typeof DeploymentSchema>;
export type FakeStatefulSet = z.infer<typeof StatefulSetSchema>;
export type FakeReplicaSet = z.infer<typeof ReplicaSetSchema>;
export type FakePodTemplate = z.infer<typeof PodTemplateSchema>;
type Workload = FakeDeployment | FakeStatefulSet;

/** A refusal with the status and reason a real API server would give. */
class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const RESOURCE_OF: Record<FakeWorkloadKind, 'deployments' | 'statefulsets'> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
};

/**
 * The fake cluster's objects and its deployment controller. Reads return deep copies; the
 * mutators are what a user or CI would do with kubectl, for tests to arrange a history.
 */
export class FakeClusterState {
  private readonly workloads = new Map<string, Workload>();
  private readonly replicaSetsByUid = new Map<string, FakeReplicaSet>();
  private readonly readyCaps = new Map<string, number>();
  private resourceVersion = 1000;

  /** The Deployment as the API would return it, or undefined. */
  deployment(namespace: string, name: string): FakeDeployment | undefined {
    const found = this.workloads.get(keyOf('Deployment', namespace, name));
    return found?.kind === 'Deployment' ? structuredClone(found) : undefined;
  }

  statefulSet(namespace: string, name: string): FakeStatefulSet | undefined {
    const found = this.workloads.get(keyOf('StatefulSet', namespace, name));
    return found?.kind === 'StatefulSet' ? structuredClone(found) : undefined;
  }

  /** The ReplicaSets the Deployment controls, by revision ascending. */
  replicaSets(namespace: string, deploymentName: string): FakeReplicaSet[] {
    const deployment = this.workloads.get(keyOf('Deployment', namespace, deploymentName));
    if (deployment === undefined) return [];
    return this.ownedReplicaSets(deployment)
      .sort((a, b) => revisionOf(a) - revisionOf(b))
      .map((rs) => structuredClone(rs));
  }

  /** A new rollout with this container image in every container (`kubectl set image`). */
  setImage(namespace: string, name: string, image: string): void {
    this.setTemplate(namespace, name, (template) => {
      for (const container of template.spec.containers) container.image = image;
    });
  }

  /** Changes a Deployment's or StatefulSet's pod template in place and lets the controller act. */
  setTemplate(
    namespace: string,
    name: string,
    change: (template: FakePodTemplate) => void,
    kind: FakeWorkloadKind = 'Deployment',
  ): void {
    const workload = this.workloads.get(keyOf(kind, namespace, name));
    if (workload === undefined) throw new Error(`no ${kind} ${namespace}/${name}`);
    const changed = structuredClone(workload);
    change(changed.spec.template);
    this.store(changed, workload);
  }

  /** `kubectl rollout pause` / `resume`: a paused Deployment does not roll out template changes. */
  setPaused(namespace: string, name: string, paused: boolean): void {
    const deployment = this.workloads.get(keyOf('Deployment', namespace, name));
    if (deployment?.kind !== 'Deployment') throw new Error(`no Deployment ${namespace}/${name}`);
    const changed = structuredClone(deployment);
    if (paused) changed.spec.paused = true;
    else delete changed.spec.paused;
    this.store(changed, deployment);
  }

  /** Stores a ReplicaSet as it is (e.g. one owned by another controller whose labels match). */
  putReplicaSet(replicaSet: FakeReplicaSet): void {
    this.replicaSetsByUid.set(replicaSet.metadata.uid, ReplicaSetSchema.parse(replicaSet));
  }

  /** Caps ready pods (undefined: all pods become ready). */
  setMaxReadyReplicas(
    kind: FakeWorkloadKind,
    namespace: string,
    name: string,
    max: number | undefined,
  ): void {
    const key = keyOf(kind, namespace, name);
    if (max === undefined) this.readyCaps.delete(key);
    else this.readyCaps.set(key, max);
    const workload = this.workloads.get(key);
    if (workload !== undefined) this.store(structuredClone(workload), workload);
  }

  /** @internal Seeds a Deployment with one rollout per image. */
  seedDeployment(seed: FakeDeploymentSeed): void {
    const namespace = seed.namespace ?? 'default';
    const [first, ...rest] = seed.images ?? [`${seed.name}:1.0.0`];
    if (first === undefined) throw new Error(`deployment ${seed.name}: images is empty`);
    this.seedWorkload(DeploymentSchema, 'Deployment', seed, first, {
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      },
      revisionHistoryLimit: DEFAULT_REVISION_HISTORY_LIMIT,
      progressDeadlineSeconds: 600,
    });
    for (const image of rest) this.setImage(namespace, seed.name, image);
    if (seed.paused === true) this.setPaused(namespace, seed.name, true);
  }

  /** @internal */
  seedStatefulSet(seed: FakeStatefulSetSeed): void {
    this.seedWorkload(StatefulSetSchema, 'StatefulSet', seed, seed.image ?? `${seed.name}:1.0.0`, {
      serviceName: seed.name,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    });
  }

  private seedWorkload(
    schema: typeof DeploymentSchema | typeof StatefulSetSchema,
    kind: FakeWorkloadKind,
    seed: FakeStatefulSetSeed & { readonly annotations?: Readonly<Record<string, string>> },
    image: string,
    spec: Record<string, unknown>,
  ): void {
    const namespace = seed.namespace ?? 'default';
    if (seed.maxReadyReplicas !== undefined) {
      this.readyCaps.set(keyOf(kind, namespace, seed.name), seed.maxReadyReplicas);
    }
    const labels = { app: seed.name };
    const annotations =
      seed.annotations === undefined ? {} : { annotations: { ...seed.annotations } };
    const workload = schema.parse({
      apiVersion: 'apps/v1',
      kind,
      metadata: this.newMetadata(namespace, seed.name, { labels, ...annotations }),
      spec: {
        replicas: seed.replicas ?? 1,
        selector: { matchLabels: labels },
        template: podTemplate(seed.name, labels, image),
        ...spec,
      },
    });
    this.store(workload, undefined);
  }

  /** @internal The stored workload, or a 404 the way the API server words it. */
  get(kind: FakeWorkloadKind, namespace: string, name: string): Workload {
    const found = this.workloads.get(keyOf(kind, namespace, name));
    if (found === undefined) {
      throw new ApiRefusal(404, 'NotFound', `${RESOURCE_OF[kind]}.apps "${name}" not found`);
    }
    return found;
  }

  /** @internal Validates a patched workload, stores it and runs the controller. */
  replace(kind: FakeWorkloadKind, previous: Workload, patched: unknown): Workload {
    const schema = kind === 'Deployment' ? DeploymentSchema : StatefulSetSchema;
    // A copy: a parse keeps unknown fields by reference, and the controller edits what it stores.
    const parsed = schema.safeParse(structuredClone(patched));
    if (!parsed.success) throw invalid(kind, previous.metadata.name, parsed.error);
    const next = parsed.data;
    // Identity is immutable; a patch that touches it is refused like the real server does.
    for (const field of ['name', 'namespace', 'uid'] as const) {
      if (next.metadata[field] !== previous.metadata[field]) {
        throw new ApiRefusal(
          422,
          'Invalid',
          `${kind}.apps "${previous.metadata.name}" is invalid: metadata.${field}: field is immutable`,
        );
      }
    }
    return this.store(next, previous);
  }

  /** @internal ReplicaSets in `namespace` whose labels match `selector`. */
  listReplicaSets(namespace: string, selector: LabelPredicate): FakeReplicaSet[] {
    return [...this.replicaSetsByUid.values()]
      .filter((rs) => rs.metadata.namespace === namespace && selector(rs.metadata.labels ?? {}))
      .map((rs) => structuredClone(rs));
  }

  /** @internal */
  nextResourceVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private newMetadata(
    namespace: string,
    name: string,
    extra: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): z.infer<typeof MetadataSchema> {
    return {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: this.nextResourceVersion(),
      generation: 1,
      creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...extra,
    };
  }

  private store(next: Workload, previous: Workload | undefined): Workload {
    if (previous !== undefined) {
      next.metadata.resourceVersion = this.nextResourceVersion();
      if (canonical(next.spec) !== canonical(previous.spec)) {
        next.metadata.generation = (previous.metadata.generation ?? 1) + 1;
      }
    }
    if (next.kind === 'Deployment') this.reconcileDeployment(next);
    else this.reconcileStatefulSet(next);
    this.workloads.set(keyOf(next.kind, next.metadata.namespace, next.metadata.name), next);
    return structuredClone(next);
  }

  private ownedReplicaSets(deployment: Workload): FakeReplicaSet[] {
    return [...this.replicaSetsByUid.values()].filter((rs) =>
      (rs.metadata.ownerReferences ?? []).some(
        (ref) => ref.controller === true && ref.uid === deployment.metadata.uid,
      ),
    );
  }

  /** The deployment controller's sync, done at once (pkg/controller/deployment). */
  private reconcileDeployment(deployment: FakeDeployment): void {
    const owned = this.ownedReplicaSets(deployment);
    const template = deployment.spec.template;
    let current = owned.find(
      (rs) => canonical(withoutHash(rs.spec.template)) === canonical(withoutHash(template)),
    );
    const old = owned.filter((rs) => rs !== current);
    const maxOldRevision = Math.max(0, ...old.map(revisionOf));
    const replicas = deployment.spec.replicas;
    if (current === undefined && deployment.spec.paused !== true) {
      current = this.newReplicaSet(deployment, maxOldRevision + 1);
    } else if (current !== undefined && revisionOf(current) < maxOldRevision + 1) {
      // Rolling back to an old template reuses its ReplicaSet under the next revision number.
      const annotations = (current.metadata.annotations ??= {});
      const history = annotations[REVISION_HISTORY];
      const before = String(revisionOf(current));
      annotations[REVISION_HISTORY] = history === undefined ? before : `${history},${before}`;
      annotations[REVISION] = String(maxOldRevision + 1);
    }
    const cap = this.readyCaps.get(
      keyOf('Deployment', deployment.metadata.namespace, deployment.metadata.name),
    );
    const ready = Math.min(replicas, cap ?? replicas);
    // Paused with a template not rolled out: the newest ReplicaSet keeps running and scaling.
    const active = current ?? [...old].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    for (const rs of old) if (rs !== active) this.setReplicaSetReplicas(rs, 0, 0);
    if (active !== undefined) {
      const annotations = (active.metadata.annotations ??= {});
      if (active === current) {
        for (const [key, value] of Object.entries(deployment.metadata.annotations ?? {})) {
          if (!NOT_COPIED_TO_REPLICA_SETS.has(key)) annotations[key] = value;
        }
      }
      annotations[DESIRED_REPLICAS] = String(replicas);
      annotations[MAX_REPLICAS] = String(replicas + Math.ceil(replicas * 0.25));
      this.setReplicaSetReplicas(active, replicas, ready);
      (deployment.metadata.annotations ??= {})[REVISION] = String(revisionOf(active));
    }
    this.pruneHistory(
      deployment,
      old.filter((rs) => rs !== active),
    );
    deployment.status = omitZeros({
      observedGeneration: deployment.metadata.generation ?? 1,
      replicas,
      updatedReplicas: current === undefined ? 0 : replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: replicas - ready,
    });
  }

  private newReplicaSet(deployment: FakeDeployment, revision: number): FakeReplicaSet {
    const hash = podTemplateHash(deployment.spec.template);
    const template = structuredClone(deployment.spec.template);
    const metadata = (template.metadata ??= {});
    const labels = { ...(metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    metadata.labels = labels;
    const rs = ReplicaSetSchema.parse({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        ...this.newMetadata(deployment.metadata.namespace, `${deployment.metadata.name}-${hash}`, {
          labels,
          annotations: { [REVISION]: String(revision) },
        }),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: deployment.metadata.name,
            uid: deployment.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        selector: {
          ...deployment.spec.selector,
          matchLabels: {
            ...(deployment.spec.selector.matchLabels ?? {}),
            [POD_TEMPLATE_HASH]: hash,
          },
        },
        template,
      },
    });
    this.replicaSetsByUid.set(rs.metadata.uid, rs);
    return rs;
  }

  private setReplicaSetReplicas(rs: FakeReplicaSet, replicas: number, ready: number): void {
    const status = omitZeros({ replicas, readyReplicas: ready, availableReplicas: ready });
    if (rs.spec.replicas === replicas && canonical(rs.status ?? {}) === canonical(status)) return;
    rs.spec.replicas = replicas;
    rs.status = { ...status, observedGeneration: 1 };
    rs.metadata.resourceVersion = this.nextResourceVersion();
  }

  private pruneHistory(deployment: FakeDeployment, old: FakeReplicaSet[]): void {
    const limit = deployment.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    const byAge = [...old].sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of byAge.slice(0, Math.max(0, byAge.length - limit))) {
      this.replicaSetsByUid.delete(rs.metadata.uid);
    }
  }

  private reconcileStatefulSet(statefulSet: FakeStatefulSet): void {
    const replicas = statefulSet.spec.replicas;
    const cap = this.readyCaps.get(
      keyOf('StatefulSet', statefulSet.metadata.namespace, statefulSet.metadata.name),
    );
    const ready = Math.min(replicas, cap ?? replicas);
    const revision = `${statefulSet.metadata.name}-${podTemplateHash(statefulSet.spec.template)}`;
    statefulSet.status = {
      ...omitZeros({
        observedGeneration: statefulSet.metadata.generation ?? 1,
        replicas,
        readyReplicas: ready,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: ready,
      }),
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    };
  }
}

/** Starts a fake API server on 127.0.0.1 with a free port. */
export async function startFakeKubernetes(
  options: FakeKubernetesOptions = {},
): Promise<FakeKubernetes> {
  const state = new FakeClusterState();
  for (const seed of options.deployments ?? []) state.seedDeployment(seed);
  for (const seed of options.statefulSets ?? []) state.seedStatefulSet(seed);
  const requests: RecordedRequest[] = [];
  const failures: number[] = [];
  let stalls = 0;

  const server = createServer((request, response) => {
    void readBody(request).then((text) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const contentType = request.headers['content-type']?.split(';')[0]?.trim();
      const entry = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType,
        body: parseJsonOrText(text),
        status: 0,
      };
      requests.push(entry);
      if (stalls > 0) {
        stalls -= 1;
        return;
      }
      const failure = failures.shift();
      const answer =
        failure === undefined
          ? answerOrRefuse(state, { method: entry.method, url, contentType, text })
          : refusal(
              new ApiRefusal(failure, reasonOf(failure), `injected failure (HTTP ${failure})`),
            );
      entry.status = answer.status;
      send(response, answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    requests,
    failNext(count, status) {
      for (let i = 0; i < count; i += 1) failures.push(status);
    },
    stallNext(count) {
      stalls += count;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const WORKLOAD_PATH =
  /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)(\/scale)?$/;
const REPLICA_SETS_PATH = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets$/;

/** An incoming request, as the router needs it. */
interface Call {
  readonly method: string;
  readonly url: URL;
  readonly contentType: string | undefined;
  readonly text: string;
}

function answerOrRefuse(state: FakeClusterState, call: Call): Answer {
  try {
    return answer(state, call);
  } catch (error) {
    if (error instanceof ApiRefusal) return refusal(error);
    throw error;
  }
}

function answer(state: FakeClusterState, { method, url, contentType, text }: Call): Answer {
  const workload = WORKLOAD_PATH.exec(url.pathname);
  if (workload !== null) {
    const [, namespace = '', resource, name = '', scale] = workload;
    const kind: FakeWorkloadKind = resource === 'deployments' ? 'Deployment' : 'StatefulSet';
    const current = state.get(kind, decodeURIComponent(namespace), decodeURIComponent(name));
    if (method === 'GET') {
      return { status: 200, body: scale === undefined ? current : scaleOf(current) };
    }
    if (method !== 'PATCH') throw methodNotAllowed(method);
    const patch = decodePatch(contentType, text);
    if (scale === undefined) {
      return { status: 200, body: state.replace(kind, current, applyPatch(current, patch)) };
    }
    const patchedScale = ScaleSchema.safeParse(applyPatch(scaleOf(current), patch));
    if (!patchedScale.success) throw invalid('Scale', current.metadata.name, patchedScale.error);
    const replicas = patchedScale.data.spec.replicas ?? 0;
    const next = state.replace(kind, current, { ...current, spec: { ...current.spec, replicas } });
    return { status: 200, body: scaleOf(next) };
  }
  const replicaSets = REPLICA_SETS_PATH.exec(url.pathname);
  if (replicaSets !== null) {
    if (method !== 'GET') throw methodNotAllowed(method);
    const selector = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
    return {
      status: 200,
      body: {
        kind: 'ReplicaSetList',
        apiVersion: 'apps/v1',
        metadata: { resourceVersion: state.nextResourceVersion() },
        items: state.listReplicaSets(decodeURIComponent(replicaSets[1] ?? ''), selector),
      },
    };
  }
  throw new ApiRefusal(404, 'NotFound', 'the server could not find the requested resource');
}

/** The autoscaling/v1 Scale the API derives from a workload (omitempty drops replicas: 0). */
function scaleOf(workload: Workload): Record<string, unknown> {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = workload.metadata;
  const replicas = workload.spec.replicas;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: replicas === 0 ? {} : { replicas },
    status: {
      replicas: Number(workload.status?.['replicas'] ?? 0),
      selector: Object.entries(workload.spec.selector.matchLabels ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
    },
  };
}

type Patch =
  | { readonly type: 'json'; readonly operations: unknown }
  | { readonly type: 'merge' | 'strategic'; readonly document: unknown };

function decodePatch(contentType: string | undefined, text: string): Patch {
  const types = {
    'application/json-patch+json': 'json',
    'application/merge-patch+json': 'merge',
    'application/strategic-merge-patch+json': 'strategic',
  } as const;
  const type = contentType === undefined ? undefined : types[contentType as keyof typeof types];
  if (type === undefined) {
    throw new ApiRefusal(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(types).join(', ')}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiRefusal(400, 'BadRequest', 'the body of the request is not valid JSON');
  }
  return type === 'json' ? { type, operations: parsed } : { type, document: parsed };
}

function applyPatch(target: unknown, patch: Patch): unknown {
  const copy = structuredClone(target);
  if (patch.type === 'json') return applyJsonPatch(copy, patch.operations);
  return mergePatch(copy, patch.document, patch.type === 'strategic');
}

const JsonPatchSchema = z.array(
  z.object({
    op: z.enum(['add', 'remove', 'replace', 'test']),
    path: z.string(),
    value: z.unknown().optional(),
  }),
);

/** RFC 6902 without move/copy, which nothing here sends. */
function applyJsonPatch(document: unknown, operations: unknown): unknown {
  const parsed = JsonPatchSchema.safeParse(operations);
  if (!parsed.success) throw new ApiRefusal(400, 'BadRequest', 'invalid JSON patch');
  let root = document;
  for (const { op, path, value } of parsed.data) {
    const tokens = path === '' ? [] : path.slice(1).split('/').map(unescapePointer);
    const last = tokens.pop();
    if (last === undefined) {
      if (op === 'test') assertEqual(root, value, path);
      else root = value;
      continue;
    }
    const parent = tokens.reduce<unknown>((node, token) => childOf(node, token, path), root);
    if (!isContainer(parent)) throw patchRefused(op, path, 'parent is not an object');
    const exists = Array.isArray(parent) ? Number(last) < parent.length : last in parent;
    if ((op === 'replace' || op === 'remove' || op === 'test') && !exists) {
      throw patchRefused(op, path, 'doc is missing key');
    }
    if (op === 'test') assertEqual(childOf(parent, last, path), value, path);
    else if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      parent.splice(index, op === 'add' ? 0 : 1, ...(op === 'remove' ? [] : [value]));
    } else if (op === 'remove') delete parent[last];
    else parent[last] = value;
  }
  return root;
}

/** RFC 7386; `strategic` also merges lists of named objects by name (containers, env, …). */
function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (
    strategic &&
    Array.isArray(patch) &&
    Array.isArray(target) &&
    allNamed(patch) &&
    allNamed(target)
  ) {
    const merged = [...target] as { name: string }[];
    for (const item of patch) {
      const index = merged.findIndex((existing) => existing.name === item.name);
      if (index < 0) merged.push(item);
      else merged[index] = mergePatch(merged[index], item, true) as { name: string };
    }
    return merged;
  }
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value, strategic);
  }
  return result;
}

type LabelPredicate = (labels: Readonly<Record<string, string>>) => boolean;

/** Parses a label selector string: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`. */
export function parseLabelSelector(selector: string): LabelPredicate {
  const requirements = selector
    .split(/,(?![^(]*\))/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part): LabelPredicate => {
      const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
      if (set !== null) {
        const [, key = '', operator, list = ''] = set;
        const values = list.split(',').map((value) => value.trim());
        return operator === 'in'
          ? (labels) => labels[key] !== undefined && values.includes(labels[key])
          : (labels) => labels[key] === undefined || !values.includes(labels[key]);
      }
      const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
      if (equality !== null) {
        const [, key = '', operator, value] = equality;
        return operator === '!='
          ? (labels) => labels[key] !== value
          : (labels) => labels[key] === value;
      }
      if (part.startsWith('!')) return (labels) => labels[part.slice(1)] === undefined;
      if (/^[^\s=!(),]+$/.test(part)) return (labels) => labels[part] !== undefined;
      throw new ApiRefusal(400, 'BadRequest', `unable to parse requirement: ${part}`);
    });
  return (labels) => requirements.every((matches) => matches(labels));
}

function podTemplate(name: string, labels: Record<string, string>, image: string): FakePodTemplate {
  return {
    metadata: { labels: { ...labels } },
    spec: {
      containers: [
        {
          name,
          image,
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          resources: {},
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
    },
  };
}

/**
 * `pod-template-hash` in the alphabet Kubernetes uses for generated names (rand.SafeEncodeString);
 * the real one is an FNV-32a of the template, any stable hash serves here.
 */
function podTemplateHash(template: FakePodTemplate): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256')
    .update(canonical(withoutHash(template)))
    .digest();
  return [...digest.subarray(0, 10)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function withoutHash(template: FakePodTemplate): FakePodTemplate {
  const copy = structuredClone(template);
  if (copy.metadata?.labels !== undefined) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
  }
  return copy;
}

/** JSON with sorted keys, where an empty object or list equals an absent one (as in Go). */
function canonical(value: unknown): string {
  return JSON.stringify(normalise(value)) ?? 'null';
}

function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalise);
  if (!isPlainObject(value)) return value ?? undefined;
  const entries = Object.keys(value)
    .sort()
    .map((key) => [key, normalise(value[key])] as const)
    .filter(([, child]) => child !== undefined);
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

function revisionOf(rs: FakeReplicaSet): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0);
}

function keyOf(kind: FakeWorkloadKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function omitZeros(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count !== 0));
}

function invalid(kind: string, name: string, error: z.ZodError): ApiRefusal {
  const causes = error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return new ApiRefusal(422, 'Invalid', `${kind}.apps "${name}" is invalid: ${causes.join(', ')}`);
}

function methodNotAllowed(method: string): ApiRefusal {
  return new ApiRefusal(
    405,
    'MethodNotAllowed',
    `the server does not allow this method (${method})`,
  );
}

function patchRefused(op: string, path: string, why: string): ApiRefusal {
  return new ApiRefusal(
    422,
    'Invalid',
    `jsonpatch ${op} operation does not apply: ${why} (${path})`,
  );
}

function assertEqual(actual: unknown, expected: unknown, path: string): void {
  if (canonical(actual) !== canonical(expected)) throw patchRefused('test', path, 'value differs');
}

function childOf(node: unknown, token: string, path: string): unknown {
  if (Array.isArray(node)) return node[Number(token)];
  if (isPlainObject(node) && token in node) return node[token];
  throw patchRefused('add', path, 'doc is missing path');
}

function unescapePointer(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

function allNamed(list: unknown[]): list is { name: string }[] {
  return list.every((item) => isPlainObject(item) && typeof item['name'] === 'string');
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function reasonOf(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** A metav1.Status body, as the API server sends with every error. */
function refusal(error: ApiRefusal): Answer {
  return {
    status: error.status,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: error.message,
      reason: error.reason,
      code: error.status,
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonOrText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
