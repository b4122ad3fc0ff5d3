/** The proxy configuration every benchmark sync compiles with. */
import { normalizeProxyConfig } from '../../src/compile/config.js';
import type { ProxyConfig } from '../../src/compile/intent.js';
import { DEFAULT_NODE_NAME, POD_CIDR } from '../generate.js';

export function benchConfig(nodeIP: string): ProxyConfig {
  const normalized = normalizeProxyConfig({
    nodeName: DEFAULT_NODE_NAME,
    nodeIPs: [nodeIP],
    clusterCIDRs: [POD_CIDR],
    masqueradeAll: false,
    nodePortAddresses: [],
  });
  if ('error' in normalized) throw new Error(normalized.error);
  return normalized.config;
}
