import { z } from 'zod';

// The Kubernetes target's configuration, apart from the driver so the executor can validate
// its config without loading @kubernetes/client-node (see kubernetesDriverFactory.ts).

// DNS-1123 names, as the API server validates them: catches a typo in the executor's config at
// start-up instead of as a 404 at the first action.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One Kubernetes target of the executor's config: the workload its actions act on. */
export const KubernetesTargetSettingsSchema = z.strictObject({
  kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
  name: z
    .string()
    .max(253)
    .regex(DNS_SUBDOMAIN, 'must be a DNS-1123 subdomain (a Kubernetes name)'),
  namespace: z
    .string()
    .max(63)
    .regex(DNS_LABEL, 'must be a DNS-1123 label (a Kubernetes namespace)')
    .default('default'),
});
export type KubernetesTargetSettings = z.infer<typeof KubernetesTargetSettingsSchema>;

/**
 * How the Kubernetes driver reaches the API server. Exactly one source:
 * - nothing: what kubectl would use — `$KUBECONFIG`, else `~/.kube/config`, else the pod's
 *   service account when running in a cluster (`KubeConfig.loadFromDefault`);
 * - `kubeconfigPath`: that file;
 * - `server`: an API server that needs no credentials — `kubectl proxy`
 *   (`http://127.0.0.1:8001`), or a local fake in tests.
 * `context` picks a context of the kubeconfig (not with `server`).
 */
export const KubernetesConnectionSchema = z
  .strictObject({
    kubeconfigPath: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    server: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine(
    (c) => c.server === undefined || (c.kubeconfigPath === undefined && c.context === undefined),
    {
      message: '`server` is a connection of its own: give it without kubeconfigPath and context',
      path: ['server'],
    },
  );
export type KubernetesConnection = z.infer<typeof KubernetesConnectionSchema>;
