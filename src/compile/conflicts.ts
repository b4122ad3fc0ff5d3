/**
 * Two services claiming the same address and port (or NodePort) cannot both be served: the
 * API server prevents it, but manifest files and races do not, and an nftables map refuses
 * a duplicate key for the whole batch. The first claimant in name order keeps the address;
 * later ones lose it, with a problem saying so.
 */
import _ from 'lodash';
import { uniqueStrings } from './order.js';
import type { Problem } from '../model/types.js';
import type { ServicePortIntent } from './intent.js';

interface Claims {
  owner: Map<string, string>;
  problems: Problem[];
}

/**
 * Claims `key` for `sp`; false (and a problem) when another service port holds it. The
 * problem names what was lost: `what` followed by the key.
 */
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
    reason: `${what}${key} is already used by ${owner}; left out`,
  });
  return false;
}

/**
 * Trimmed copies made for service ports that lost an address, by original. Handed back to
 * the next call, a copy trimmed the same way is reused, so its identity stays stable.
 */
export type TrimmedCopies = WeakMap<ServicePortIntent, ServicePortIntent>;

function trimmedAlike(copy: ServicePortIntent, externalIPs: string[], loadBalancerIPs: string[], nodePort: number): boolean {
  return copy.nodePort === nodePort && _.isEqual(copy.externalIPs, externalIPs) && _.isEqual(copy.loadBalancerIPs, loadBalancerIPs);
}

/** The claim keys of one service port. */
interface ClaimKeys {
  cluster: string;
  external: string[];
  loadBalancer: string[];
  nodePort: string | null;
  /** All of the above, each once. */
  all: readonly string[];
}

const claimKeyCache = new WeakMap<ServicePortIntent, ClaimKeys>();

const PROTOCOL_NAMES: Record<ServicePortIntent['protocol'], string> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

function destinationKey(ip: string, sp: ServicePortIntent): string {
  return `${ip} ${sp.port}/${PROTOCOL_NAMES[sp.protocol]}`;
}

function nodePortKey(sp: ServicePortIntent): string | null {
  return sp.nodePort !== 0 ? `node port ${sp.nodePort}/${PROTOCOL_NAMES[sp.protocol]}` : null;
}

/** The claim keys of one service port, kept for resolveConflicts' repeated passes. */
function claimKeys(sp: ServicePortIntent): ClaimKeys {
  let keys = claimKeyCache.get(sp);
  if (keys === undefined) {
    const cluster = destinationKey(sp.clusterIP, sp);
    const external = sp.externalIPs.map((ip) => destinationKey(ip, sp));
    const loadBalancer = sp.loadBalancerIPs.map((ip) => destinationKey(ip, sp));
    const nodePort = nodePortKey(sp);
    const all = uniqueStrings([cluster, ...external, ...loadBalancer, ...(nodePort === null ? [] : [nodePort])]);
    keys = { cluster, external, loadBalancer, nodePort, all };
    claimKeyCache.set(sp, keys);
  }
  return keys;
}

/**
 * Every address `sp` claims, each once; built afresh, not kept: the daemon counts each
 * port's claims once when it is compiled and once when it goes (incremental.ts), and a
 * WeakMap entry per port of a 10k-service cluster cost more than building them.
 */
export function claimedKeys(sp: ServicePortIntent): readonly string[] {
  const cluster = destinationKey(sp.clusterIP, sp);
  const nodePort = nodePortKey(sp);
  if (sp.externalIPs.length === 0 && sp.loadBalancerIPs.length === 0) return nodePort === null ? [cluster] : [cluster, nodePort];
  const all = [cluster];
  for (const ip of sp.externalIPs) all.push(destinationKey(ip, sp));
  for (const ip of sp.loadBalancerIPs) all.push(destinationKey(ip, sp));
  if (nodePort !== null) all.push(nodePort);
  return uniqueStrings(all);
}

/**
 * `services` must be sorted; returns them with conflicting addresses removed.
 *
 * `contested`, when given, holds every key claimed by more than one of `services`: a port
 * claiming none of them is kept as it is without claiming. That is the same result, since
 * only ports sharing a contested key can take anything from each other, and the order
 * among those is unchanged.
 */
export function resolveConflicts(
  services: readonly ServicePortIntent[],
  copies?: TrimmedCopies,
  contested?: ReadonlySet<string>,
): {
  services: ServicePortIntent[];
  problems: Problem[];
} {
  const claims: Claims = { owner: new Map(), problems: [] };
  const kept: ServicePortIntent[] = [];
  for (const sp of services) {
    const keys = claimKeys(sp);
    if (contested !== undefined && !keys.all.some((key) => contested.has(key))) {
      kept.push(sp);
      continue;
    }
    if (!claim(claims, keys.cluster, sp, 'cluster IP ')) continue;
    const externalIPs = sp.externalIPs.filter((_ip, i) => claim(claims, keys.external[i] as string, sp, 'external IP '));
    const loadBalancerIPs = sp.loadBalancerIPs.filter((_ip, i) => claim(claims, keys.loadBalancer[i] as string, sp, 'load balancer IP '));
    const nodePort = keys.nodePort !== null && claim(claims, keys.nodePort, sp, '') ? sp.nodePort : 0;
    const changed =
      externalIPs.length !== sp.externalIPs.length ||
      loadBalancerIPs.length !== sp.loadBalancerIPs.length ||
      nodePort !== sp.nodePort;
    if (!changed) {
      kept.push(sp);
      continue;
    }
    const earlier = copies?.get(sp);
    const copy =
      earlier !== undefined && trimmedAlike(earlier, externalIPs, loadBalancerIPs, nodePort)
        ? earlier
        : { ...sp, externalIPs, loadBalancerIPs, nodePort, firewall: loadBalancerIPs.length > 0 ? sp.firewall : null };
    copies?.set(sp, copy);
    kept.push(copy);
  }
  return { services: kept, problems: claims.problems };
}
