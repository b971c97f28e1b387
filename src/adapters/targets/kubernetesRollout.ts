import { z } from 'zod';

/**
 * What kubectl does for `rollout restart` and `rollout undo`, as pure functions over the API's
 * JSON, so the Kubernetes driver makes the same changes a human with kubectl would. The
 * kubectl sources each function follows are named on it (k8s.io/kubectl, pkg/polymorphichelpers
 * and pkg/cmd/rollout; k8s.io/kubernetes, pkg/controller/deployment/util).
 */

/** The pod-template annotation `kubectl rollout restart` sets. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
/** The revision the deployment controller numbers Deployments and ReplicaSets with. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** The label the deployment controller adds to a ReplicaSet's pod template. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/**
 * Deployment annotations `rollout undo` keeps from the Deployment rather than taking from the
 * ReplicaSet (kubectl's `annotationsToSkip` in rollback.go).
 */
const ANNOTATIONS_KEPT_FROM_DEPLOYMENT = [
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
] as const;

const LabelsSchema = z.record(z.string(), z.string());

// Loose schemas: they check the few fields kubectl reads and keep every other field as the
// server sent it, so a pod template written back is the one the server has — including fields
// this code (or the client library's generated models) does not know.
const PodTemplateSchema = z.looseObject({
  metadata: z
    .looseObject({ labels: LabelsSchema.nullish(), annotations: LabelsSchema.nullish() })
    .nullish(),
});

const LabelSelectorSchema = z.looseObject({
  matchLabels: LabelsSchema.nullish(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});

/** A Deployment as the API returns it (apps/v1), reduced to what restart and rollback read. */
export const DeploymentJsonSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    uid: z.string(),
    annotations: LabelsSchema.nullish(),
  }),
  spec: z.looseObject({
    selector: LabelSelectorSchema,
    template: PodTemplateSchema,
    paused: z.boolean().nullish(),
  }),
});
export type DeploymentJson = z.infer<typeof DeploymentJsonSchema>;

const ReplicaSetJsonSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    annotations: LabelsSchema.nullish(),
    ownerReferences: z
      .array(z.looseObject({ uid: z.string(), controller: z.boolean().nullish() }))
      .nullish(),
  }),
  spec: z.looseObject({ template: PodTemplateSchema }),
});
export type ReplicaSetJson = z.infer<typeof ReplicaSetJsonSchema>;

/** A ReplicaSetList as the API returns it. */
export const ReplicaSetListJsonSchema = z.looseObject({
  items: z.array(ReplicaSetJsonSchema).nullish(),
});

type PodTemplateJson = z.infer<typeof PodTemplateSchema>;
type LabelSelectorJson = z.infer<typeof LabelSelectorSchema>;

/**
 * The `restartedAt` value for an action: the executor's intent time, RFC 3339 in UTC.
 *
 * kubectl writes `time.Now()`; we write the time the executor journaled its intent, which is
 * the same on every re-delivery of the action. Re-applying the restart after an executor crash
 * therefore patches in the value that is already there: the pod template does not change and
 * the deployment controller starts no second rollout — idempotent by construction. Milliseconds
 * are kept (RFC 3339 allows fractional seconds and Go's parser accepts them) so that two
 * distinct restarts within one second are still two template changes.
 */
export function restartedAtOf(intentAtMs: number): string {
  return new Date(intentAtMs).toISOString();
}

/**
 * The strategic-merge patch `kubectl rollout restart` sends: kubectl sets the annotation on
 * the object it read and diffs it against the original (objectrestarter.go +
 * set.CalculatePatches), which yields exactly this document.
 */
export function restartPatch(restartedAt: string): Record<string, unknown> {
  return {
    spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } },
  };
}

/** The template's `restartedAt` annotation, when a rollout restart set one. */
export function restartedAtIn(
  template: { metadata?: { annotations?: Record<string, string> | null } | null } | undefined,
): string | undefined {
  return template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
}

/**
 * A label selector in the API's string form, as `metav1.LabelSelectorAsSelector(...).String()`
 * renders it: requirements sorted by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
 */
export function labelSelectorString(selector: LabelSelectorJson): string {
  const requirements: [key: string, text: string][] = Object.entries(
    selector.matchLabels ?? {},
  ).map(([key, value]) => [key, `${key}=${value}`]);
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    const list = [...(values ?? [])].sort().join(',');
    const text = {
      In: `${key} in (${list})`,
      NotIn: `${key} notin (${list})`,
      Exists: key,
      DoesNotExist: `!${key}`,
    }[operator];
    requirements.push([key, text]);
  }
  return requirements
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, text]) => text)
    .join(',');
}

/** The outcome of looking for the ReplicaSet to roll back to. */
export type RollbackSource =
  | { readonly found: true; readonly replicaSet: ReplicaSetJson; readonly revision: number }
  | { readonly found: false; readonly reason: string };

/**
 * The ReplicaSet `kubectl rollout undo [--to-revision=N]` restores (rollback.go,
 * `deploymentRevision`): among the ReplicaSets the Deployment controls (controller owner
 * reference with its uid — what `deploymentutil.ListReplicaSets` keeps of the label-selector
 * list), the one whose revision is `toRevision`, or for 0 the second-highest revision. With
 * the usual history that is the highest revision below the Deployment's current one.
 */
export function rollbackSource(
  deployment: DeploymentJson,
  replicaSets: readonly ReplicaSetJson[],
  toRevision: number,
): RollbackSource {
  let latest: { replicaSet: ReplicaSetJson; revision: number } | undefined;
  let previous: { replicaSet: ReplicaSetJson; revision: number } | undefined;
  for (const replicaSet of replicaSets.filter((rs) => isControlledBy(rs, deployment))) {
    const revision = revisionOf(replicaSet.metadata.annotations);
    if (revision === undefined) continue;
    if (toRevision > 0) {
      if (revision === toRevision) return { found: true, replicaSet, revision };
    } else if (latest === undefined || latest.revision < revision) {
      previous = latest;
      latest = { replicaSet, revision };
    } else if (previous === undefined || previous.revision < revision) {
      previous = { replicaSet, revision };
    }
  }
  if (toRevision > 0) {
    return { found: false, reason: `unable to find specified revision ${toRevision} in history` };
  }
  if (previous === undefined) {
    return {
      found: false,
      reason: `no rollout history found (no ReplicaSet with a revision below the current one)`,
    };
  }
  return { found: true, ...previous };
}

/**
 * True when two pod templates are the same apart from `pod-template-hash` (kubectl's
 * `equalIgnoreHash`): rollout undo then does nothing ("skipped rollback").
 */
export function sameTemplateIgnoringHash(a: PodTemplateJson, b: PodTemplateJson): boolean {
  return semanticEqual(withoutHashLabel(a), withoutHashLabel(b));
}

/**
 * The JSON patch `kubectl rollout undo` sends (rollback.go, `getDeploymentPatch`): replace
 * `spec.template` with the ReplicaSet's template minus `pod-template-hash`, and replace
 * `metadata.annotations` with the Deployment's own bookkeeping annotations (revision,
 * last-applied-configuration, …) plus every other annotation of the ReplicaSet — the ones the
 * controller copied from the Deployment at that revision, such as `kubernetes.io/change-cause`.
 */
export function rollbackPatch(
  deployment: DeploymentJson,
  replicaSet: ReplicaSetJson,
): readonly Record<string, unknown>[] {
  const own = deployment.metadata.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const key of ANNOTATIONS_KEPT_FROM_DEPLOYMENT) {
    const value = own[key];
    if (value !== undefined) annotations[key] = value;
  }
  const kept = new Set<string>(ANNOTATIONS_KEPT_FROM_DEPLOYMENT);
  for (const [key, value] of Object.entries(replicaSet.metadata.annotations ?? {})) {
    if (!kept.has(key)) annotations[key] = value;
  }
  return [
    { op: 'replace', path: '/spec/template', value: withoutHashLabel(replicaSet.spec.template) },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
}

/** The revision number of a Deployment or ReplicaSet (absent counts as 0, as in kubectl). */
export function revisionOf(
  annotations: Readonly<Record<string, string>> | null | undefined,
): number | undefined {
  const text = annotations?.[REVISION_ANNOTATION] ?? '0';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

function isControlledBy(replicaSet: ReplicaSetJson, deployment: DeploymentJson): boolean {
  return (replicaSet.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === deployment.metadata.uid,
  );
}

function withoutHashLabel(template: PodTemplateJson): PodTemplateJson {
  const labels = template.metadata?.labels;
  if (labels === undefined || labels === null || !(POD_TEMPLATE_HASH_LABEL in labels)) {
    return template;
  }
  const rest = { ...labels };
  delete rest[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels: rest } };
}

/**
 * Deep equality over JSON the way `apiequality.Semantic.DeepEqual` sees Go structs decoded from
 * it: an absent field, `null`, an empty map and an empty list are all the zero value.
 */
function semanticEqual(a: unknown, b: unknown): boolean {
  if (isZero(a) && isZero(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => semanticEqual(item, b[index]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => semanticEqual(a[key], b[key]));
  }
  return a === b;
}

function isZero(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
