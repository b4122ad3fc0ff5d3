/**
 * ClusterState + flags → the RulesetIntent of one IP family. Pure; problems are returned.
 */
import { familyOf } from '../model/ip.js';
import type { ClusterState, EndpointSlice, IPFamily, NodeInfo, Problem, Service } from '../model/types.js';
import type { CompileContext } from './context.js';
import type { CompileResult, ProxyConfig, RulesetIntent, ServicePortIntent } from './intent.js';
import { nodePortAddressing, primaryNodeIPs, type NodePortAddressing } from './node-addresses.js';
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

/** What every service of one compile shares: the node's context and where NodePorts answer. */
export interface CompileSetup {
  ctx: CompileContext;
  nodePorts: NodePortAddressing;
}

export function compileSetup(node: NodeInfo | null, config: ProxyConfig, family: IPFamily): CompileSetup {
  const nodeIPs = primaryNodeIPs(config, node, family);
  return {
    ctx: { family, nodeName: config.nodeName, nodeLabels: node?.labels ?? {}, nodeIPs },
    nodePorts: nodePortAddressing(config, nodeIPs, family),
  };
}

/**
 * The ruleset from service port intents already sorted by compareServicePorts with their
 * conflicts resolved (`resolved`, see conflicts.ts); problems are the setup's and those.
 */
export function assembleRuleset(
  serviceCIDRs: readonly string[],
  config: ProxyConfig,
  setup: CompileSetup,
  resolved: { services: ServicePortIntent[]; problems: Problem[] },
): CompileResult {
  const { ctx, nodePorts } = setup;
  const problems: Problem[] = [];
  if (nodePorts.fallbackReason !== null) {
    problems.push({ kind: 'Node', namespace: '', name: config.nodeName, reason: nodePorts.fallbackReason });
  }
  problems.push(...resolved.problems);

  const podCIDRs = config.clusterCIDRs.filter((cidr) => familyOf(cidr) === ctx.family);
  const intent: RulesetIntent = {
    family: ctx.family,
    masquerade: { mark: config.masqueradeMark ?? MASQUERADE_MARK, all: config.masqueradeAll },
    podCIDRs: podCIDRs.length > 0 ? podCIDRs : null,
    nodeIPs: ctx.nodeIPs,
    nodePortCIDRs: nodePorts.cidrs,
    serviceCIDRs: serviceCIDRs.filter((cidr) => familyOf(cidr) === ctx.family),
    services: resolved.services,
  };
  return { intent, problems };
}

/** The slice list of a service that has none: one frozen empty list, so identity compares. */
export const NO_SLICES: readonly EndpointSlice[] = Object.freeze([]);

/** Whether `key` is `namespace/name` of `service`, checked without building it. */
function isKeyOf(key: string, service: Service): boolean {
  const { namespace, name } = service;
  return (
    key.length === namespace.length + 1 + name.length &&
    key.startsWith(namespace) &&
    key.charAt(namespace.length) === '/' &&
    key.endsWith(name)
  );
}

/**
 * The slices of `service` in `state`; the same empty list every time for none. `key`, the
 * service's key in `state.services`, saves building it.
 */
export function serviceSlices(state: ClusterState, service: Service, key?: string): readonly EndpointSlice[] {
  const sliceKey = key !== undefined && isKeyOf(key, service) ? key : `${service.namespace}/${service.name}`;
  return state.slicesByService.get(sliceKey) ?? NO_SLICES;
}

export function compileRuleset(state: ClusterState, config: ProxyConfig, family: IPFamily): CompileResult {
  const setup = compileSetup(state.node, config, family);
  const ports: ServicePortIntent[] = [];
  for (const [key, service] of state.services) {
    for (const port of compileService(service, serviceSlices(state, service, key), setup.ctx)) ports.push(port);
  }
  ports.sort(compareServicePorts);
  return assembleRuleset(state.serviceCIDRs, config, setup, resolveConflicts(ports));
}
