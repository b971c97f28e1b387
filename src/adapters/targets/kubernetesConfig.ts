import { KubeConfig } from '@kubernetes/client-node';
import { HealcastError } from '../../errors.js';
import type { KubernetesConnection } from './kubernetesSettings.js';

/**
 * Builds the client library's `KubeConfig` for a connection. Throws `CONFIG_INVALID` when the
 * kubeconfig cannot be read or names no usable cluster — at start-up, not at the first action.
 */
export function kubeConfigFrom(connection: KubernetesConnection): KubeConfig {
  const config = new KubeConfig();
  try {
    if (connection.server !== undefined) {
      const name = 'healcast';
      config.loadFromOptions({
        clusters: [
          // The client refuses plain http unless TLS verification is "skipped": there is no
          // TLS to verify on an http URL, so this only lets `kubectl proxy` URLs through.
          { name, server: connection.server, skipTLSVerify: connection.server.startsWith('http:') },
        ],
        users: [{ name }],
        contexts: [{ name, cluster: name, user: name }],
        currentContext: name,
      });
    } else if (connection.kubeconfigPath !== undefined) {
      config.loadFromFile(connection.kubeconfigPath);
    } else {
      config.loadFromDefault();
    }
  } catch (error) {
    throw new HealcastError(
      'CONFIG_INVALID',
      `Kubernetes connection: cannot load ${connection.kubeconfigPath ?? 'the default kubeconfig'}: ${error instanceof Error ? error.message : String(error)}`,
      { retriable: false, cause: error },
    );
  }
  if (connection.context !== undefined) {
    if (config.getContextObject(connection.context) === null) {
      throw new HealcastError(
        'CONFIG_INVALID',
        `Kubernetes connection: context "${connection.context}" is not in the kubeconfig (it has: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
        { retriable: false },
      );
    }
    config.setCurrentContext(connection.context);
  }
  if (config.getCurrentCluster() === null) {
    throw new HealcastError(
      'CONFIG_INVALID',
      'Kubernetes connection: the kubeconfig has no current context with a cluster',
      { retriable: false },
    );
  }
  return config;
}
