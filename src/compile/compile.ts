/**
 * ClusterState + flags → the RulesetIntent of one IP family. Pure; problems are returned.
 */
import { familyOf } from '../model/ip.js';
import type { ClusterState, EndpointSlice, IPFamily, Problem, Service } from '../model/types.js';
import type { CompileContext } from './context.js';
import type { CompileResult, ProxyConfig, RulesetIntent, ServicePortIntent } from './intent.js';
import { nodePortAddressing, primaryNodeIPs } from './node-addresses.js';
import { compareStrings } from './order.js';
import { resolveConflicts } from './conflicts.js';
import { compileServicePort, familyAddresses } from './service-port.js';

export type { CompileContext } from './context.js';

/** kube-proxy's masquerade mark bit. */
export const MASQUERADE_MARK = 0x4000;

/**
 * The intents of every port of `service` in `ctx.family`, in spec order; empty when the
 * service has no ClusterIP of that family. `slices` are the service's EndpointSlices
 * (any family; others are ignored). The daemon's partial syncs call this per service.
 */
export function compileService(
  service: Service,
  slices: readonly EndpointSlice[],
  ctx: CompileContext,
): ServicePortIntent[] {
  const addresses = familyAddresses(service, ctx.family);
  if (!addresses) return [];
  return service.ports.map((port) => compileServicePort(service, addresses, port, slices, ctx));
}

export function compareServicePorts(a: ServicePortIntent, b: ServicePortIntent): number {
  return compareStrings(a.name, b.name) || compareStrings(a.protocol, b.protocol);
}

export function compileRuleset(state: ClusterState, config: ProxyConfig, family: IPFamily): CompileResult {
  const problems: Problem[] = [];
  const nodeIPs = primaryNodeIPs(config, state.node, family);
  const nodePorts = nodePortAddressing(config, nodeIPs, family);
  if (nodePorts.fallbackReason !== null) {
    problems.push({ kind: 'Node', namespace: '', name: config.nodeName, reason: nodePorts.fallbackReason });
  }

  const ctx: CompileContext = {
    family,
    nodeName: config.nodeName,
    nodeLabels: state.node?.labels ?? {},
    nodeIPs,
  };
  const services: ServicePortIntent[] = [];
  for (const service of state.services.values()) {
    const slices = state.slicesByService.get(`${service.namespace}/${service.name}`) ?? [];
    services.push(...compileService(service, slices, ctx));
  }
  services.sort(compareServicePorts);
  const resolved = resolveConflicts(services);
  problems.push(...resolved.problems);

  const podCIDRs = config.clusterCIDRs.filter((cidr) => familyOf(cidr) === family);
  const intent: RulesetIntent = {
    family,
    masquerade: { mark: MASQUERADE_MARK, all: config.masqueradeAll },
    podCIDRs: podCIDRs.length > 0 ? podCIDRs : null,
    nodeIPs,
    nodePortCIDRs: nodePorts.cidrs,
    serviceCIDRs: state.serviceCIDRs.filter((cidr) => familyOf(cidr) === family),
    services: resolved.services,
  };
  return { intent, problems };
}
