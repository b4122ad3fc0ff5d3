/**
 * Dedicated chains, kube-proxy's nftables shape, for the service ports the shared path
 * cannot express: endpoints on different ports, or more than MAX_SHARED_ENDPOINTS
 * endpoints. Masquerading for ClusterIP traffic and hairpin stay shared (the `services`
 * and `masquerading` chains); ClientIP affinity is a layer in front (affinity.ts).
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { goto, l4proto, rule, type TableBuilder } from './build.js';
import { externalPolicyRules } from './external-policy.js';
import type { NftValue, NftVerdict } from './model.js';
import { dedicatedNames, type DedicatedNames } from './names.js';
import { MAX_SHARED_ENDPOINTS } from './shared-paths.js';

export function needsDedicatedChains(sp: ServicePortIntent): boolean {
  if (sp.clusterEndpoints.length > MAX_SHARED_ENDPOINTS || sp.localEndpoints.length > MAX_SHARED_ENDPOINTS) return true;
  // Endpoints on more than one port (checked for every service port: no Set per port).
  const { endpoints } = sp;
  for (let i = 1; i < endpoints.length; i++) if (endpoints[i]!.port !== endpoints[0]!.port) return true;
  return false;
}

function ensureEndpoint(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, ep: EndpointIntent): string {
  const name = names.endpoint(ep);
  if (b.hasChain(name)) return name;
  b.addChain(name, [
    rule({ kind: 'match', left: l4proto, op: '==', right: sp.protocol }, { kind: 'dnat', addr: { value: ep.ip }, port: { value: ep.port } }),
  ]);
  return name;
}

/** A random pick over `endpoints`. */
function ensureBalance(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, name: string, endpoints: readonly EndpointIntent[]): string {
  if (b.hasChain(name)) return name;
  const targets = endpoints.map((ep) => ensureEndpoint(b, sp, names, ep));
  const branches: Array<[NftValue, NftVerdict]> = targets.map((target, i) => [i, goto(target)]);
  b.addChain(name, [rule({ kind: 'vmap', key: { kind: 'numgen', mod: endpoints.length }, map: branches })]);
  return name;
}

/** ClusterIP traffic: the internal policy's endpoints (non-empty). */
export function dedicatedInternal(b: TableBuilder, sp: ServicePortIntent): NftVerdict {
  const names = dedicatedNames(sp);
  return sp.internal.policy === 'local'
    ? goto(ensureBalance(b, sp, names, names.local, sp.localEndpoints))
    : goto(ensureBalance(b, sp, names, names.cluster, sp.clusterEndpoints));
}

/** External traffic (addresses and NodePort alike); the cluster list must be non-empty. */
export function dedicatedExternal(b: TableBuilder, intent: RulesetIntent, sp: ServicePortIntent): NftVerdict {
  const names = dedicatedNames(sp);
  if (b.hasChain(names.external)) return goto(names.external);
  const policy = sp.external?.policy === 'local' ? 'local' : 'cluster';
  const cluster = ensureBalance(b, sp, names, names.cluster, sp.clusterEndpoints);
  const local = policy === 'local' && sp.localEndpoints.length > 0 ? ensureBalance(b, sp, names, names.local, sp.localEndpoints) : null;
  b.addChain(names.external, externalPolicyRules(policy, intent.podCIDRs !== null, cluster, local));
  return goto(names.external);
}
