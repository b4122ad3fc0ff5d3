/**
 * Checks of single kube-proxy settings shared by the flag and the file paths. Each takes
 * the setting's name as the user wrote it (`--cluster-cidr` or `clusterCIDR`) so errors
 * point at the right place.
 */
import { familyOf, isLoopback, parseCIDR, parseIP } from '../model/ip.js';
import { formatDuration, parseGoDuration } from './duration.js';

export type Checked<T> = { value: T } | { error: string };

export interface BindAddress {
  /** Canonical IP; `0.0.0.0` / `::` for all addresses of that family. */
  host: string;
  port: number;
}

export type ProxyMode = 'iptables' | 'nftables';

const quote = (text: string): string => JSON.stringify(text);

export function checkMode(where: string, text: string): Checked<ProxyMode> {
  if (text === '' || text === 'iptables') return { value: 'iptables' };
  if (text === 'nftables') return { value: 'nftables' };
  return { error: `${where}: kpx supports "iptables" and "nftables", not ${quote(text)}` };
}

export function checkDuration(where: string, text: string): Checked<number> {
  const ms = parseGoDuration(text);
  return ms === null ? { error: `${where}: ${quote(text)} is not a duration such as "30s", "500ms" or "1m30s"` } : { value: ms };
}

export function checkSyncPeriods(syncMs: number, minSyncMs: number, names: { sync: string; min: string }): string | null {
  if (!(syncMs > 0)) return `${names.sync}: must be greater than 0, got ${formatDuration(syncMs)}`;
  if (minSyncMs < 0) return `${names.min}: must not be negative, got ${formatDuration(minSyncMs)}`;
  if (minSyncMs > syncMs) {
    return `${names.min}: ${formatDuration(minSyncMs)} is longer than ${names.sync} ${formatDuration(syncMs)}`;
  }
  return null;
}

export function checkMasqueradeBit(where: string, bit: number): Checked<number> {
  return Number.isInteger(bit) && bit >= 0 && bit <= 31
    ? { value: bit }
    : { error: `${where}: must be an integer from 0 to 31, got ${bit}` };
}

function atMostOnePerFamily(where: string, canonical: readonly string[]): string | null {
  for (const family of [4, 6] as const) {
    const ofFamily = canonical.filter((v) => familyOf(v) === family);
    if (ofFamily.length > 1) return `${where}: at most one IPv${family} value is allowed, got ${ofFamily.map(quote).join(' and ')}`;
  }
  return null;
}

function splitList(text: string): string[] {
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** A comma-separated dual-stack pair of pod CIDRs at most (kube-proxy's `clusterCIDR`). */
export function checkClusterCIDRs(where: string, text: string): Checked<string[]> {
  const cidrs: string[] = [];
  for (const item of splitList(text)) {
    const parsed = parseCIDR(item);
    if (!parsed) return { error: `${where}: ${quote(item)} is not a CIDR` };
    if (!cidrs.includes(parsed.cidr)) cidrs.push(parsed.cidr);
  }
  const error = atMostOnePerFamily(where, cidrs);
  return error ? { error } : { value: cidrs };
}

/**
 * kube-proxy's `bindAddress`: the node's primary IP(s), comma-separated, overriding the
 * Node object's; `0.0.0.0` or `::` (its default) means no override.
 */
export function checkNodeIPOverride(where: string, text: string): Checked<string[]> {
  const ips: string[] = [];
  for (const item of splitList(text)) {
    const parsed = parseIP(item);
    if (!parsed) return { error: `${where}: ${quote(item)} is not an IP address` };
    if (parsed.ip === '0.0.0.0' || parsed.ip === '::') continue;
    if (isLoopback(parsed.ip)) return { error: `${where}: ${quote(item)} is a loopback address, not a node IP` };
    if (!ips.includes(parsed.ip)) ips.push(parsed.ip);
  }
  const error = atMostOnePerFamily(where, ips);
  return error ? { error } : { value: ips };
}

/**
 * `nodePortAddresses`: CIDRs and the keywords `primary` (the Node's primary IPs, as an
 * empty list for `ProxyConfig`) and `all`. `localhost` is refused: kpx never serves
 * NodePorts on loopback. `primary` cannot be mixed with CIDRs here.
 */
export function checkNodePortAddresses(where: string, items: readonly string[]): Checked<string[]> {
  const values = items.flatMap(splitList);
  if (values.includes('localhost')) {
    return { error: `${where}: "localhost" is not supported; kpx never accepts NodePort traffic on loopback addresses` };
  }
  if (values.includes('primary')) {
    return values.every((v) => v === 'primary')
      ? { value: [] }
      : { error: `${where}: "primary" cannot be combined with other values` };
  }
  const cidrs: string[] = [];
  for (const item of values) {
    const expanded = item === 'all' ? ['0.0.0.0/0', '::/0'] : [item];
    for (const text of expanded) {
      const parsed = parseCIDR(text);
      if (!parsed) return { error: `${where}: ${quote(text)} is not a CIDR, "primary" or "all"` };
      if (!cidrs.includes(parsed.cidr)) cidrs.push(parsed.cidr);
    }
  }
  return { value: cidrs };
}

/** `ip:port`, `[ipv6]:port`, or a bare IP that gets `defaultPort` (kube-proxy's AppendPortIfNeeded). */
export function checkBindAddress(where: string, text: string, defaultPort: number): Checked<BindAddress> {
  const trimmed = text.trim();
  let hostText = trimmed;
  let portText = String(defaultPort);
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    hostText = bracketed[1]!;
    portText = bracketed[2] ?? portText;
  } else if (!parseIP(trimmed)) {
    const colon = trimmed.lastIndexOf(':');
    if (colon > 0 && !trimmed.slice(0, colon).includes(':')) {
      hostText = trimmed.slice(0, colon);
      portText = trimmed.slice(colon + 1);
    }
  }
  const host = parseIP(hostText);
  if (!host) return { error: `${where}: ${quote(text)} is not an IP address with an optional port (e.g. "0.0.0.0:10256")` };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { error: `${where}: port ${quote(portText)} is not a number from 1 to 65535` };
  }
  return { value: { host: host.ip, port: Number(portText) } };
}

/** Node names are DNS-1123 subdomains; kube-proxy lowercases the hostname override. */
export function checkNodeName(where: string, text: string): Checked<string> {
  const name = text.trim().toLowerCase();
  if (name === '') return { error: `${where}: the node name is empty` };
  const valid = name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
  return valid ? { value: name } : { error: `${where}: ${quote(text)} is not a valid node name (a DNS-1123 subdomain)` };
}

export function checkVerbosity(where: string, value: number | string): Checked<number> {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? { value: n } : { error: `${where}: must be a non-negative integer, got ${quote(String(value))}` };
}
