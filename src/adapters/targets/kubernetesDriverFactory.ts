import { HealcastError } from '../../errors.js';
import type * as DriverModuleNamespace from './kubernetesDriver.js';
import type { KubernetesDriver, KubernetesDriverOptions } from './kubernetesDriver.js';
import type * as ConfigModuleNamespace from './kubernetesConfig.js';
import type { KubernetesConnection } from './kubernetesSettings.js';

type DriverModule = typeof DriverModuleNamespace;
type ConfigModule = typeof ConfigModuleNamespace;

/**
 * Builds the Kubernetes driver for a connection, loading @kubernetes/client-node only now.
 *
 * Why lazily: the library costs ~0.7 s and ~70 MB to import, which an executor without
 * Kubernetes targets should not pay — nor its risks: @kubernetes/client-node 2.x cannot load
 * on Node.js 20 at all (its undici 8 needs Node.js ≥ 22.19 and throws at import; Node 20's
 * loader then also reports that throw as uncaught, so even the error below does not save the
 * process — only a client that loads, 1.4 on Node.js 20, does). The composition root should
 * import this module, not kubernetesDriver.ts. A load failure becomes `CONFIG_INVALID`.
 */
export async function createKubernetesDriver(
  connection: KubernetesConnection,
  options: Omit<KubernetesDriverOptions, 'kubeConfig'> = {},
): Promise<KubernetesDriver> {
  let modules: [DriverModule, ConfigModule];
  try {
    modules = await Promise.all([import('./kubernetesDriver.js'), import('./kubernetesConfig.js')]);
  } catch (error) {
    throw new HealcastError(
      'CONFIG_INVALID',
      `Kubernetes targets are configured, but @kubernetes/client-node cannot be loaded on ` +
        `Node.js ${process.versions.node} (${error instanceof Error ? error.message : String(error)}); ` +
        'its 2.x releases need Node.js ≥ 22.19, 1.4 runs on Node.js 20',
      { retriable: false, cause: error },
    );
  }
  const [{ KubernetesDriver: Driver }, { kubeConfigFrom }] = modules;
  return new Driver({ ...options, kubeConfig: kubeConfigFrom(connection) });
}
