/**
 * Two services claiming the same address and port (or NodePort) cannot both be served: the
 * API server prevents it, but manifest files and races do not, and an nftables map refuses
 * a duplicate key for the whole batch. The first claimant in name order keeps the address;
 * later ones lose it, with a problem saying so.
 */
import type { Problem } from '../model/types.js';
import type { ServicePortIntent } from './intent.js';

interface Claims {
  owner: Map<string, string>;
  problems: Problem[];
}

/** Claims `key` for `sp`; false (and a problem) when another service port holds it. */
function claim(claims: Claims, key: string, sp: ServicePortIntent, what: string): boolean {
  const owner = claims.owner.get(key);
  if (owner === undefined || owner === sp.name) {
    claims.owner.set(key, sp.name);
    return true;
  }
  claims.problems.push({
    kind: 'Service',
    namespace: sp.namespace,
    name: sp.service,
    reason: `${what} is already used by ${owner}; left out`,
  });
  return false;
}

/** `services` must be sorted; returns them with conflicting addresses removed. */
export function resolveConflicts(services: readonly ServicePortIntent[]): {
  services: ServicePortIntent[];
  problems: Problem[];
} {
  const claims: Claims = { owner: new Map(), problems: [] };
  const kept: ServicePortIntent[] = [];
  for (const sp of services) {
    const proto = sp.protocol.toUpperCase();
    const destination = (ip: string) => `${ip} ${sp.port}/${proto}`;
    if (!claim(claims, destination(sp.clusterIP), sp, `cluster IP ${destination(sp.clusterIP)}`)) continue;
    const externalIPs = sp.externalIPs.filter((ip) => claim(claims, destination(ip), sp, `external IP ${destination(ip)}`));
    const loadBalancerIPs = sp.loadBalancerIPs.filter((ip) =>
      claim(claims, destination(ip), sp, `load balancer IP ${destination(ip)}`),
    );
    const nodePort =
      sp.nodePort !== 0 && claim(claims, `node port ${sp.nodePort}/${proto}`, sp, `node port ${sp.nodePort}/${proto}`)
        ? sp.nodePort
        : 0;
    const changed =
      externalIPs.length !== sp.externalIPs.length ||
      loadBalancerIPs.length !== sp.loadBalancerIPs.length ||
      nodePort !== sp.nodePort;
    kept.push(changed ? { ...sp, externalIPs, loadBalancerIPs, nodePort, firewall: loadBalancerIPs.length > 0 ? sp.firewall : null } : sp);
  }
  return { services: kept, problems: claims.problems };
}
