/**
 * Deterministic orderings for compiled output, independent of locale and of input order.
 */
import ipaddr from 'ipaddr.js';
import type { EndpointIntent } from './intent.js';

/** Plain UTF-16 code unit order (never locale-dependent). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Numeric order of the address bytes; an IPv4 address sorts before any IPv6 one. */
export function compareIPs(a: string, b: string): number {
  const bytesA = ipaddr.parse(a).toByteArray();
  const bytesB = ipaddr.parse(b).toByteArray();
  if (bytesA.length !== bytesB.length) return bytesA.length - bytesB.length;
  for (let i = 0; i < bytesA.length; i++) {
    const diff = (bytesA[i] ?? 0) - (bytesB[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function compareEndpoints(a: Pick<EndpointIntent, 'ip' | 'port'>, b: Pick<EndpointIntent, 'ip' | 'port'>): number {
  return compareIPs(a.ip, b.ip) || a.port - b.port;
}

/** Order-preserving removal of repeated values. */
export function uniqueStrings(values: readonly string[]): string[] {
  return [...new Set(values)];
}
