// The Kubernetes driver against a fake API server (test/helpers/fakeKubernetes.ts): no cluster
// can run here, so these tests check the exact requests kubectl would make and how a
// Kubernetes API server and deployment controller answer them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTION_SCHEMA_VERSION, type ActionEnvelope } from '../../src/dispatch/envelope.js';
import { HealcastError, TargetError } from '../../src/errors.js';
import type { DriverContext } from '../../src/execute/targetDriver.js';
import { createKubernetesDriver } from '../../src/adapters/targets/kubernetesDriverFactory.js';
import {
  KubernetesTargetSettingsSchema,
  NEVER_RESTARTED,
  type KubernetesDriver,
  type KubernetesTargetSettings,
} from '../../src/adapters/targets/kubernetesDriver.js';
import {
  startFakeKubernetes,
  type FakeKubernetes,
  type FakeKubernetesOptions,
  type RecordedRequest,
} from '../helpers/fakeKubernetes.js';

const CHECKOUT: KubernetesTargetSettings = {
  kind: 'Deployment',
  name: 'checkout',
  namespace: 'shop',
};
const DEPLOYMENT_PATH = '/apis/apps/v1/namespaces/shop/deployments/checkout';
const INTENT_AT_MS = Date.parse('2025-03-01T10:00:00.250Z');

let fake: FakeKubernetes | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(options: FakeKubernetesOptions): Promise<{
  fake: FakeKubernetes;
  driver: KubernetesDriver;
}> {
  fake = await startFakeKubernetes(options);
  return {
    fake,
    driver: await createKubernetesDriver({ server: fake.url }),
  };
}

function context(
  type: ActionEnvelope['type'],
  options: { intentAtMs?: number; parameters?: Record<string, unknown>; signal?: AbortSignal } = {},
): DriverContext {
  const envelope: ActionEnvelope = {
    schema: ACTION_SCHEMA_VERSION,
    actionId: `act-${type}`,
    fireId: 'fire-1',
    actionIndex: 0,
    policy: 'checkout-errors',
    target: { kind: 'deployment', name: 'checkout', namespace: 'shop' },
    type,
    parameters: options.parameters ?? {},
    trigger: 'reactive',
    evidence: {
      series: 'errors{service="checkout"}',
      metric: 'errors',
      labels: { service: 'checkout' },
      value: 0.2,
      threshold: 0.05,
      direction: 'above',
      breachStartMs: INTENT_AT_MS - 60_000,
      breachDurationMs: 60_000,
      baselineMean: 0.01,
      baselineLower: 0,
      baselineUpper: 0.03,
      anomalyScore: 1,
    },
    observedAtMs: INTENT_AT_MS - 1_000,
    decidedAtMs: INTENT_AT_MS - 500,
    cooldownMs: 600_000,
  };
  return {
    actionId: envelope.actionId,
    envelope,
    intentAtMs: options.intentAtMs ?? INTENT_AT_MS,
    attempt: 1,
    signal: options.signal ?? new AbortController().signal,
  };
}

/** What the driver sent, without the answers' details. */
function sent(requests: readonly RecordedRequest[]): Omit<RecordedRequest, 'status'>[] {
  return requests.map(({ status: _status, ...request }) => request);
}

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

describe('KubernetesTargetSettingsSchema', () => {
  it('defaults kind and namespace and refuses names the API would refuse', () => {
    expect(KubernetesTargetSettingsSchema.parse({ name: 'checkout' })).toEqual({
      kind: 'Deployment',
      name: 'checkout',
      namespace: 'default',
    });
    expect(KubernetesTargetSettingsSchema.safeParse({ name: 'Checkout' }).success).toBe(false);
    expect(KubernetesTargetSettingsSchema.safeParse({ name: 'a', kind: 'DaemonSet' }).success).toBe(
      false,
    );
    expect(KubernetesTargetSettingsSchema.safeParse({ name: 'a', namspace: 'x' }).success).toBe(
      false,
    );
  });
});

describe('KubernetesDriver against a fake API server', () => {
  it('observes replicas from the scale subresource and revision, restart marker and readiness from the Deployment', async () => {
    const { fake, driver } = await start({
      deployments: [
        {
          namespace: 'shop',
          name: 'checkout',
          replicas: 2,
          maxReadyReplicas: 1,
          images: ['shop/checkout:1.0', 'shop/checkout:1.1'],
        },
      ],
    });

    expect(await driver.observe(CHECKOUT, context('scale'))).toEqual({
      replicas: 2,
      restartMarker: NEVER_RESTARTED,
      revision: '2',
      readyReplicas: 1,
    });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      `GET ${DEPLOYMENT_PATH}`,
      `GET ${DEPLOYMENT_PATH}/scale`,
    ]);
  });

  it('scales 1 → 3 with the merge patch kubectl scale sends to the scale subresource, without a new revision', async () => {
    const { fake, driver } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout' }],
    });

    const report = await driver.scale(CHECKOUT, 3, context('scale'));

    expect(report.summary).toBe('scaled deployment shop/checkout from 1 to 3 replicas');
    expect(sent(fake.requests)).toEqual([
      {
        method: 'GET',
        path: `${DEPLOYMENT_PATH}/scale`,
        query: {},
        contentType: undefined,
        body: undefined,
      },
      {
        method: 'PATCH',
        path: `${DEPLOYMENT_PATH}/scale`,
        query: { fieldManager: 'healcast' },
        contentType: 'application/merge-patch+json',
        body: { spec: { replicas: 3 } },
      },
    ]);
    expect(fake.state.deployment('shop', 'checkout')?.spec.replicas).toBe(3);
    expect(fake.state.replicaSets('shop', 'checkout').map((rs) => rs.spec.replicas)).toEqual([3]);
    expect((await driver.observe(CHECKOUT, context('scale'))).revision).toBe('1');
  });

  it('restarts with the annotation patch of kubectl rollout restart; the same intent twice is one rollout, another intent a second', async () => {
    const { fake, driver } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout' }],
    });
    const restartedAt = '2025-03-01T10:00:00.250Z';

    const first = await driver.restart(CHECKOUT, context('restart'));
    const again = await driver.restart(CHECKOUT, context('restart'));

    expect(first.summary).toContain(`restarted deployment shop/checkout`);
    expect(again.details).toMatchObject({ alreadyApplied: true });
    expect(sent(fake.requests).filter((r) => r.method === 'PATCH')).toEqual([
      {
        method: 'PATCH',
        path: DEPLOYMENT_PATH,
        query: { fieldManager: 'healcast' },
        contentType: 'application/strategic-merge-patch+json',
        body: {
          spec: {
            template: {
              metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } },
            },
          },
        },
      },
    ]);
    expect(await driver.observe(CHECKOUT, context('restart'))).toMatchObject({
      restartMarker: restartedAt,
      revision: '2',
    });
    expect(fake.state.replicaSets('shop', 'checkout')).toHaveLength(2);

    await driver.restart(CHECKOUT, context('restart', { intentAtMs: INTENT_AT_MS + 1 }));

    expect(await driver.observe(CHECKOUT, context('restart'))).toMatchObject({
      restartMarker: '2025-03-01T10:00:00.251Z',
      revision: '3',
    });
    expect(fake.state.replicaSets('shop', 'checkout')).toHaveLength(3);
  });

  it('rolls back to the previous revision with the JSON patch of kubectl rollout undo, ignoring ReplicaSets it does not control', async () => {
    const { fake, driver } = await start({
      deployments: [
        {
          namespace: 'shop',
          name: 'checkout',
          annotations: { team: 'shop' },
          images: ['shop/checkout:1.0', 'shop/checkout:1.1', 'shop/checkout:1.2'],
        },
      ],
    });
    const [first, previous, current] = fake.state.replicaSets('shop', 'checkout');
    if (first === undefined || previous === undefined || current === undefined) {
      throw new Error('the seed has no history');
    }
    // Same labels, a higher revision, but another owner: kubectl (and we) must not pick it.
    fake.state.putReplicaSet({
      ...structuredClone(current),
      metadata: {
        ...structuredClone(current.metadata),
        name: 'checkout-foreign',
        uid: 'foreign-uid',
        annotations: { 'deployment.kubernetes.io/revision': '7' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'other',
            uid: 'other',
            controller: true,
          },
        ],
      },
    });
    fake.requests.length = 0;

    const report = await driver.rollback(CHECKOUT, context('rollback'));

    expect(report.summary).toBe(
      'rolled back deployment shop/checkout from revision 3 to revision 2',
    );
    const { metadata: previousTemplateMetadata, ...previousTemplateRest } = previous.spec.template;
    const restoredTemplate = {
      ...previousTemplateRest,
      metadata: { ...previousTemplateMetadata, labels: { app: 'checkout' } },
    };
    expect(sent(fake.requests)).toEqual([
      { method: 'GET', path: DEPLOYMENT_PATH, query: {}, contentType: undefined, body: undefined },
      {
        method: 'GET',
        path: '/apis/apps/v1/namespaces/shop/replicasets',
        query: { labelSelector: 'app=checkout' },
        contentType: undefined,
        body: undefined,
      },
      {
        method: 'PATCH',
        path: DEPLOYMENT_PATH,
        query: { fieldManager: 'healcast' },
        contentType: 'application/json-patch+json',
        body: [
          { op: 'replace', path: '/spec/template', value: restoredTemplate },
          {
            op: 'replace',
            path: '/metadata/annotations',
            value: { 'deployment.kubernetes.io/revision': '3', team: 'shop' },
          },
        ],
      },
    ]);
    const after = fake.state.deployment('shop', 'checkout');
    expect(after?.spec.template.spec.containers[0]?.image).toBe('shop/checkout:1.1');
    // The controller reuses revision 2's ReplicaSet under the next number, as in a cluster.
    expect(after?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    expect(fake.state.replicaSets('shop', 'checkout').map((rs) => rs.metadata.name)).toEqual([
      first.metadata.name,
      current.metadata.name,
      previous.metadata.name,
    ]);
  });

  it('rolls back to parameters.toRevision, and refuses a revision that is not in the history', async () => {
    const { fake, driver } = await start({
      deployments: [
        {
          namespace: 'shop',
          name: 'checkout',
          images: ['shop/checkout:1.0', 'shop/checkout:1.1', 'shop/checkout:1.2'],
        },
      ],
    });

    const report = await driver.rollback(
      CHECKOUT,
      context('rollback', { parameters: { toRevision: 1 } }),
    );
    expect(report.details).toMatchObject({ fromRevision: '3', toRevision: 1 });
    expect(fake.state.deployment('shop', 'checkout')?.spec.template.spec.containers[0]?.image).toBe(
      'shop/checkout:1.0',
    );

    const missing = await failure(
      driver.rollback(CHECKOUT, context('rollback', { parameters: { toRevision: '9' } })),
    );
    expect(missing.retriable).toBe(false);
    expect(missing.message).toContain(
      'deployment shop/checkout: rollback failed: unable to find specified revision 9 in history',
    );
  });

  it('restores fields of the old pod template that the client library does not model', async () => {
    const { fake, driver } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout', images: ['shop/checkout:1.0'] }],
    });
    // A pod-spec field newer than the client's generated models, present at revision 2 only.
    fake.state.setTemplate('shop', 'checkout', (template) => {
      template.spec['futurePodField'] = { mode: 'strict' };
      template.spec.containers[0]!.image = 'shop/checkout:2.0';
    });
    fake.state.setTemplate('shop', 'checkout', (template) => {
      delete template.spec['futurePodField'];
      template.spec.containers[0]!.image = 'shop/checkout:3.0';
    });

    await driver.rollback(CHECKOUT, context('rollback'));

    const template = fake.state.deployment('shop', 'checkout')?.spec.template;
    expect(template?.spec['futurePodField']).toEqual({ mode: 'strict' });
    expect(template?.spec.containers[0]?.image).toBe('shop/checkout:2.0');
  });

  it('refuses a rollback without history as non-retriable, and skips one whose template is already current', async () => {
    const { fake, driver } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout', images: ['shop/checkout:1.0'] }],
    });

    const error = await failure(driver.rollback(CHECKOUT, context('rollback')));

    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(
      /^deployment shop\/checkout: rollback failed: no rollout history/,
    );
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toEqual([]);

    fake.state.setImage('shop', 'checkout', 'shop/checkout:2.0');
    fake.state.setImage('shop', 'checkout', 'shop/checkout:1.0');
    const skipped = await driver.rollback(
      CHECKOUT,
      context('rollback', { parameters: { toRevision: 3 } }),
    );
    expect(skipped.details).toMatchObject({ skipped: true, toRevision: 3 });
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('refuses to restart or roll back a paused Deployment, like kubectl', async () => {
    const { fake, driver } = await start({
      deployments: [
        {
          namespace: 'shop',
          name: 'checkout',
          paused: true,
          images: ['shop/checkout:1.0', 'shop/checkout:1.1'],
        },
      ],
    });

    const restart = await failure(driver.restart(CHECKOUT, context('restart')));
    const rollback = await failure(driver.rollback(CHECKOUT, context('rollback')));

    expect([restart.retriable, rollback.retriable]).toEqual([false, false]);
    expect(restart.message).toContain("can't restart paused deployment");
    expect(rollback.message).toContain('you cannot rollback a paused deployment');
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('maps a missing Deployment (404) to a non-retriable error naming the target and the status', async () => {
    const { driver } = await start({ deployments: [{ namespace: 'shop', name: 'checkout' }] });

    const error = await failure(
      driver.scale({ ...CHECKOUT, name: 'payments' }, 2, context('scale')),
    );

    expect(error.retriable).toBe(false);
    expect(error.message).toBe(
      'deployment shop/payments: scale failed: HTTP 404 NotFound: deployments.apps "payments" not found',
    );
  });

  it.each([
    [400, false],
    [401, false],
    [403, false],
    [409, true],
    [422, false],
    [429, true],
    [500, true],
    [503, true],
  ])('maps HTTP %i to retriable: %s', async (status, retriable) => {
    const { fake, driver } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout' }],
    });
    fake.failNext(1, status);

    const error = await failure(driver.scale(CHECKOUT, 2, context('scale')));

    expect(error.retriable).toBe(retriable);
    expect(error.message).toMatch(
      new RegExp(`^deployment shop/checkout: scale failed: HTTP ${status}\\b`),
    );
    // The next attempt goes through: the failure was the server's, not the request's.
    await expect(driver.scale(CHECKOUT, 2, context('scale'))).resolves.toMatchObject({
      details: { toReplicas: 2 },
    });
  });

  it('maps a refused connection and timeouts to retriable errors', async () => {
    const closed = await startFakeKubernetes();
    await closed.close();
    const unreachable = await createKubernetesDriver({ server: closed.url });
    const refused = await failure(unreachable.observe(CHECKOUT, context('scale')));
    expect(refused.retriable).toBe(true);
    expect(refused.message).toContain('cannot reach the API server (ECONNREFUSED)');

    const { fake } = await start({ deployments: [{ namespace: 'shop', name: 'checkout' }] });
    const impatient = await createKubernetesDriver({ server: fake.url }, { requestTimeoutMs: 200 });
    fake.stallNext(1);
    const slow = await failure(impatient.restart(CHECKOUT, context('restart')));
    expect(slow.retriable).toBe(true);
    expect(slow.message).toBe('deployment shop/checkout: restart failed: no answer within 200 ms');

    fake.stallNext(1);
    const action = new AbortController();
    setTimeout(() => action.abort(), 100);
    const aborted = await failure(
      impatient.restart(CHECKOUT, context('restart', { signal: action.signal })),
    );
    expect(aborted.retriable).toBe(true);
    expect(aborted.message).toContain("aborted: the executor's action timeout ran out");
    expect(fake.state.replicaSets('shop', 'checkout')).toHaveLength(1);
  });

  it('scales and restarts a StatefulSet, and refuses to roll it back', async () => {
    const { fake, driver } = await start({
      statefulSets: [{ namespace: 'shop', name: 'db', replicas: 1, image: 'postgres:16' }],
    });
    const db: KubernetesTargetSettings = { kind: 'StatefulSet', name: 'db', namespace: 'shop' };

    const report = await driver.scale(db, 2, context('scale'));
    await driver.restart(db, context('restart'));

    expect(report.summary).toBe('scaled statefulset shop/db from 1 to 2 replicas');
    expect(sent(fake.requests).filter((r) => r.method === 'PATCH')).toEqual([
      {
        method: 'PATCH',
        path: '/apis/apps/v1/namespaces/shop/statefulsets/db/scale',
        query: { fieldManager: 'healcast' },
        contentType: 'application/merge-patch+json',
        body: { spec: { replicas: 2 } },
      },
      expect.objectContaining({
        path: '/apis/apps/v1/namespaces/shop/statefulsets/db',
        contentType: 'application/strategic-merge-patch+json',
      }),
    ]);
    const observed = await driver.observe(db, context('scale'));
    expect(observed).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      restartMarker: '2025-03-01T10:00:00.250Z',
    });
    expect(observed.revision).toMatch(/^db-/);

    expect(driver.supports(db, 'rollback')).toBe(false);
    expect(driver.supports(db, 'scale')).toBe(true);
    expect(driver.supports(CHECKOUT, 'rollback')).toBe(true);
    fake.requests.length = 0;
    const refused = await failure(driver.rollback(db, context('rollback')));
    expect(refused.retriable).toBe(false);
    expect(refused.message).toContain('statefulset shop/db: rollback is not supported');
    expect(refused.message).toContain('ControllerRevisions');
    expect(fake.requests).toEqual([]);
  });
});

describe('createKubernetesDriver', () => {
  it('loads a kubeconfig file and selects the given context', async () => {
    const { fake } = await start({
      deployments: [{ namespace: 'shop', name: 'checkout', replicas: 4 }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'healcast-kube-'));
    const path = join(dir, 'config');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: nowhere',
        '  cluster: { server: "https://192.0.2.1:6443" }',
        '- name: fake',
        `  cluster: { server: "${fake.url}", insecure-skip-tls-verify: true }`,
        'users:',
        '- name: ci',
        '  user: { token: "t0ken" }',
        'contexts:',
        '- name: prod',
        '  context: { cluster: nowhere, user: ci }',
        '- name: test',
        '  context: { cluster: fake, user: ci }',
        'current-context: prod',
      ].join('\n'),
    );

    const driver = await createKubernetesDriver({ kubeconfigPath: path, context: 'test' });

    expect((await driver.observe(CHECKOUT, context('scale'))).replicas).toBe(4);
    const thrown = await createKubernetesDriver({ kubeconfigPath: path, context: 'staging' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(HealcastError);
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((thrown as Error).message).toContain('context "staging" is not in the kubeconfig');
  });
});
