/**
 * The node's own addresses for one family: its primary IP, and where NodePorts answer.
 */
import { cidrContains, familyOf, hostCIDR, parseCIDR } from '../model/ip.js';
import type { IPFamily, NodeInfo } from '../model/types.js';
import type { ProxyConfig } from './intent.js';
import { uniqueStrings } from './order.js';

/**
 * `--node-ip` of this family; else, as kube-proxy, the Node's first address of this family
 * (InternalIP before ExternalIP). Empty when neither is known.
 */
export function primaryNodeIPs(config: ProxyConfig, node: NodeInfo | null, family: IPFamily): string[] {
  const flagged = config.nodeIPs.filter((ip) => familyOf(ip) === family);
  if (flagged.length > 0) return flagged;
  const fromNode = node?.addresses.find((ip) => familyOf(ip) === family);
  return fromNode === undefined ? [] : [fromNode];
}

/** Ranges holding nothing but loopback addresses: 127.0.0.0/8 and its sub-ranges, ::1/128. */
export function isLoopbackOnly(cidr: string): boolean {
  const parsed = parseCIDR(cidr);
  if (!parsed) return false;
  if (parsed.family === 6) return parsed.prefix === 128 && parsed.network === '::1';
  return parsed.prefix >= 8 && cidrContains('127.0.0.0/8', parsed.network);
}

export interface NodePortAddressing {
  cidrs: string[];
  /** Set when NodePorts fall back to every local address for want of a node IP. */
  fallbackReason: string | null;
}

const EVERY_ADDRESS: Record<IPFamily, string> = { 4: '0.0.0.0/0', 6: '::/0' };

/**
 * `--nodeport-addresses` of this family, minus loopback-only ranges: localhost NodePorts
 * stay off, as in kube-proxy's nftables mode. A flag with no usable range of this family
 * turns NodePorts off for it (kube-proxy would answer on every address instead). With the
 * flag empty (`primary`), the node's primary IPs; with none known, every local address.
 */
export function nodePortAddressing(config: ProxyConfig, nodeIPs: readonly string[], family: IPFamily): NodePortAddressing {
  if (config.nodePortAddresses.length > 0) {
    const cidrs = config.nodePortAddresses.filter((cidr) => familyOf(cidr) === family && !isLoopbackOnly(cidr));
    return { cidrs: uniqueStrings(cidrs), fallbackReason: null };
  }
  if (nodeIPs.length > 0) return { cidrs: uniqueStrings(nodeIPs.map(hostCIDR)), fallbackReason: null };
  const familyName = family === 4 ? 'IPv4' : 'IPv6';
  return {
    cidrs: [EVERY_ADDRESS[family]],
    fallbackReason:
      `no ${familyName} node IP known (no --node-ip of this family and the Node has no such address): ` +
      `NodePorts answer on every local ${familyName} address; set --node-ip or --nodeport-addresses`,
  };
}
