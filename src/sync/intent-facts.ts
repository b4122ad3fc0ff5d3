/**
 * Facts the daemon's servers and metrics need from the compiled intents of all families:
 * pure functions, so the daemon stays a thin shell.
 */
import type { RulesetIntent } from '../compile/intent.js';

/** `namespace/name` → healthCheckNodePort, for services with externalTrafficPolicy Local. */
export function healthCheckPorts(intents: readonly RulesetIntent[]): Map<string, number> {
  const ports = new Map<string, number>();
  for (const intent of intents) {
    for (const sp of intent.services) {
      if (sp.healthCheckNodePort !== 0 && sp.external?.policy === 'local') {
        ports.set(`${sp.namespace}/${sp.service}`, sp.healthCheckNodePort);
      }
    }
  }
  return ports;
}

/** `namespace/name` → distinct local endpoint IPs over all ports and families. */
export function localEndpointCounts(intents: readonly RulesetIntent[]): Map<string, number> {
  const ips = new Map<string, Set<string>>();
  for (const intent of intents) {
    for (const sp of intent.services) {
      const key = `${sp.namespace}/${sp.service}`;
      const set = ips.get(key) ?? new Set<string>();
      for (const ep of sp.localEndpoints) set.add(ep.ip);
      ips.set(key, set);
    }
  }
  return new Map([...ips].map(([key, set]) => [key, set.size]));
}

/**
 * Service ports with a Local policy that have no endpoint on this node, per policy
 * (kube-proxy's `sync_proxy_rules_no_local_endpoints_total`).
 */
export function noLocalEndpointCounts(intent: RulesetIntent): { internal: number; external: number } {
  let internal = 0;
  let external = 0;
  for (const sp of intent.services) {
    if (sp.internal.policy === 'local' && sp.internal.noEndpoints !== null) internal++;
    if (sp.external?.policy === 'local' && sp.external.noEndpoints !== null) external++;
  }
  return { internal, external };
}
