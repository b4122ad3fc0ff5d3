/**
 * Validation of the kube-proxy-like flags that shape the ruleset. Input is the raw text
 * from the command line or a config file; output is canonical or one error naming the flag.
 */
import { familyOf, isLoopback, parseCIDR, parseIP } from '../model/ip.js';
import type { ProxyConfig } from './intent.js';
import { uniqueStrings } from './order.js';

export interface RawProxyConfig {
  nodeName: string;
  nodeIPs: string[];
  clusterCIDRs: string[];
  masqueradeAll: boolean;
  nodePortAddresses: string[];
}

type Checked<T> = { value: T } | { error: string };

/** Entries may also be comma-separated lists, as kube-proxy's flags are; blanks are ignored. */
function entries(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function atMostOnePerFamily(flag: string, canonical: readonly string[]): string | null {
  for (const family of [4, 6] as const) {
    const ofFamily = canonical.filter((v) => familyOf(v) === family);
    if (ofFamily.length > 1) {
      return `${flag}: at most one IPv${family} value is allowed, got ${ofFamily.map(quote).join(' and ')}`;
    }
  }
  return null;
}

function checkNodeIPs(raw: readonly string[]): Checked<string[]> {
  const ips: string[] = [];
  for (const text of entries(raw)) {
    const parsed = parseIP(text);
    if (!parsed) return { error: `--node-ip: ${quote(text)} is not an IP address` };
    if (parsed.ip === '0.0.0.0' || parsed.ip === '::' || isLoopback(parsed.ip)) {
      return { error: `--node-ip: ${quote(text)} cannot be a node's primary IP (unspecified or loopback)` };
    }
    ips.push(parsed.ip);
  }
  const unique = uniqueStrings(ips);
  const error = atMostOnePerFamily('--node-ip', unique);
  return error ? { error } : { value: unique };
}

function checkClusterCIDRs(raw: readonly string[]): Checked<string[]> {
  const cidrs: string[] = [];
  for (const text of entries(raw)) {
    const parsed = parseCIDR(text);
    if (!parsed) return { error: `--cluster-cidr: ${quote(text)} is not a CIDR` };
    cidrs.push(parsed.cidr);
  }
  const unique = uniqueStrings(cidrs);
  const error = atMostOnePerFamily('--cluster-cidr', unique);
  return error ? { error } : { value: unique };
}

/** `primary` (alone) is the default: the node's primary IPs, represented as an empty list. */
function checkNodePortAddresses(raw: readonly string[]): Checked<string[]> {
  const values = entries(raw);
  if (values.includes('primary')) {
    return values.length === 1
      ? { value: [] }
      : { error: '--nodeport-addresses: "primary" cannot be combined with other values' };
  }
  const cidrs: string[] = [];
  for (const text of values) {
    const parsed = parseCIDR(text);
    if (!parsed) return { error: `--nodeport-addresses: ${quote(text)} is neither a CIDR nor "primary"` };
    cidrs.push(parsed.cidr);
  }
  return { value: uniqueStrings(cidrs) };
}

export function normalizeProxyConfig(raw: RawProxyConfig): { config: ProxyConfig } | { error: string } {
  const nodeName = raw.nodeName.trim();
  if (/\s/.test(nodeName)) return { error: `--node-name: ${quote(nodeName)} contains whitespace` };
  const nodeIPs = checkNodeIPs(raw.nodeIPs);
  if ('error' in nodeIPs) return nodeIPs;
  const clusterCIDRs = checkClusterCIDRs(raw.clusterCIDRs);
  if ('error' in clusterCIDRs) return clusterCIDRs;
  const nodePortAddresses = checkNodePortAddresses(raw.nodePortAddresses);
  if ('error' in nodePortAddresses) return nodePortAddresses;
  return {
    config: {
      nodeName,
      nodeIPs: nodeIPs.value,
      clusterCIDRs: clusterCIDRs.value,
      masqueradeAll: raw.masqueradeAll,
      nodePortAddresses: nodePortAddresses.value,
    },
  };
}
