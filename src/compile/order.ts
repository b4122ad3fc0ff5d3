/**
 * Deterministic orderings for compiled output, independent of locale and of input order.
 */
import ipaddr from 'ipaddr.js';
import { canonicalIPv4Value } from '../model/ip.js';
import type { EndpointIntent } from './intent.js';

/** Plain UTF-16 code unit order (never locale-dependent). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function compareIPBytes(a: string, b: string): number {
  const bytesA = ipaddr.parse(a).toByteArray();
  const bytesB = ipaddr.parse(b).toByteArray();
  if (bytesA.length !== bytesB.length) return bytesA.length - bytesB.length;
  for (let i = 0; i < bytesA.length; i++) {
    const diff = (bytesA[i] ?? 0) - (bytesB[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Numeric order of the address bytes; an IPv4 address sorts before any IPv6 one. */
export function compareIPs(a: string, b: string): number {
  const numberA = canonicalIPv4Value(a);
  const numberB = numberA === null ? null : canonicalIPv4Value(b);
  if (numberA !== null && numberB !== null) return numberA - numberB;
  return compareIPBytes(a, b);
}

export function compareEndpoints(a: Pick<EndpointIntent, 'ip' | 'port'>, b: Pick<EndpointIntent, 'ip' | 'port'>): number {
  return compareIPs(a.ip, b.ip) || a.port - b.port;
}

/** Lists up to this long sort by insertion on `key * 32 + index`: under 2^53, exact in a double. */
const SHORT_LIST = 32;

/** Reused by endpointOrder (never re-entered): one array per call was most of its garbage. */
const scratch: number[] = [];

/**
 * The indexes of `endpoints` in `compareEndpoints` order (stable), or null when they are in
 * order already. IPv4 lists, the common case, sort on a numeric key computed once per
 * endpoint; short ones (nearly all) by insertion, without a comparator call per step.
 */
export function endpointOrder(endpoints: ReadonlyArray<Pick<EndpointIntent, 'ip' | 'port'>>): number[] | null {
  const n = endpoints.length;
  if (n < 2) return null;
  const keys = scratch;
  keys.length = 0;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i]!;
    const ip = canonicalIPv4Value(ep.ip);
    if (ip === null || !(ep.port >= 0 && ep.port < 65536)) {
      const order = endpoints.map((_, at) => at).sort((a, b) => compareEndpoints(endpoints[a]!, endpoints[b]!) || a - b);
      return order.every((at, k) => at === k) ? null : order;
    }
    // A port is at most 16 bits, so ip * 2^16 + port stays below 2^48: exact in a double.
    const key = ip * 65536 + ep.port;
    if (i > 0 && key < keys[i - 1]!) sorted = false;
    keys.push(key);
  }
  if (sorted) return null;
  if (n > SHORT_LIST) return keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b);
  for (let i = 0; i < n; i++) keys[i] = keys[i]! * SHORT_LIST + i;
  for (let i = 1; i < n; i++) {
    const packed = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > packed; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = packed;
  }
  const order: number[] = [];
  for (let i = 0; i < n; i++) order.push(keys[i]! % SHORT_LIST);
  return order;
}

/**
 * `endpoints` sorted by `compareEndpoints` (stable): the array itself when already in order
 * (most lists: pass one of your own), else a new one.
 */
export function sortEndpoints<T extends Pick<EndpointIntent, 'ip' | 'port'>>(endpoints: T[]): T[] {
  const order = endpointOrder(endpoints);
  return order === null ? endpoints : order.map((i) => endpoints[i]!);
}

/** Order-preserving removal of repeated values. */
export function uniqueStrings(values: readonly string[]): string[] {
  // Nearly every list here has at most a few entries (a service's external IPs): a Set
  // per call cost 30k Sets per 10k-service compile.
  if (values.length > 8) return [...new Set(values)];
  const unique: string[] = [];
  for (const v of values) if (!unique.includes(v)) unique.push(v);
  return unique;
}
