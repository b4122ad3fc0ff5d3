import { KubeConfig } from '@kubernetes/client-node';

/**
 * A KubeConfig for a plain-http server without auth. client-node 1.4 refuses an `http:` server
 * unless `skipTLSVerify` is set (config.js `createAgent`), so it is set here.
 */
export function kubeConfigFor(serverUrl: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: serverUrl, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}
