/**
 * IP and CIDR parsing with kube-proxy's leniency (Go's pre-1.17 "sloppy" parser: IPv4
 * octets may carry leading zeros and are read as decimal) and canonical output, so every
 * address that reaches a rule is in one textual form.
 */
import ipaddr from 'ipaddr.js';
import type { IPFamily } from './types.js';

export interface ParsedIP {
  /** Canonical text: dotted decimal for IPv4, RFC 5952 for IPv6. */
  ip: string;
  family: IPFamily;
}

export interface ParsedCIDR {
  /** Canonical `network/prefix` (host bits cleared). */
  cidr: string;
  network: string;
  prefix: number;
  family: IPFamily;
}

const DOT = 46;
const ZERO = 48;
const NINE = 57;

const NOT_IPV4 = -1;
const NOT_CANONICAL = -2;

/**
 * Scans a sloppy dotted-quad IPv4 address (`/^\d+(\.\d+){3}$/`, each octet decimal and at
 * most 255, leading zeros allowed): its 32-bit value when the text is canonical (no leading
 * zeros), NOT_CANONICAL when it is valid but not canonical, NOT_IPV4 otherwise. Hand-rolled:
 * it runs for every endpoint address.
 */
function scanIPv4(text: string): number {
  const length = text.length;
  let octets = 0;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let canonical = true;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? text.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (digits === 0 || octet > 255 || ++octets > 4) return NOT_IPV4;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= ZERO && c <= NINE) {
      if (digits > 0 && octet === 0) canonical = false;
      // Past 255 the octet is invalid whatever follows; stop growing to stay exact.
      octet = Math.min(octet * 10 + (c - ZERO), 256);
      digits++;
    } else {
      return NOT_IPV4;
    }
  }
  if (octets !== 4) return NOT_IPV4;
  return canonical ? value : NOT_CANONICAL;
}

/** The canonical form of a sloppy IPv4 address (see `scanIPv4`), or null. */
export function canonicalIPv4(text: string): string | null {
  const scanned = scanIPv4(text);
  if (scanned === NOT_IPV4) return null;
  return scanned === NOT_CANONICAL ? text.split('.').map((octet) => Number.parseInt(octet, 10)).join('.') : text;
}

/** The numeric value of a canonical IPv4 address, or null for any other text. */
export function canonicalIPv4Value(text: string): number | null {
  const scanned = scanIPv4(text);
  return scanned >= 0 ? scanned : null;
}

/** Parses an IP address; null when it is not one (zones and IPv4-mapped IPv6 are refused). */
export function parseIP(text: string): ParsedIP | null {
  const v4 = canonicalIPv4(text);
  if (v4 !== null) return { ip: v4, family: 4 };
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  if (v6.isIPv4MappedAddress()) return null;
  return { ip: v6.toString(), family: 6 };
}

/** Parses a CIDR, trimming surrounding whitespace; the address part may have host bits set. */
export function parseCIDR(text: string): ParsedCIDR | null {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIP(trimmed.slice(0, slash));
  const prefixText = trimmed.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number.parseInt(prefixText, 10);
  if (prefix > (addr.family === 4 ? 32 : 128)) return null;
  const network =
    addr.family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.ip}/${prefix}`).toString()
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.ip}/${prefix}`).toString();
  return { cidr: `${network}/${prefix}`, network, prefix, family: addr.family };
}

export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 6 : 4;
}

/**
 * cidrContains for canonical IPv4 text without ipaddr.js (a 10k-service compile checks each
 * LoadBalancer source range against the node's IPs); null for anything else.
 */
function ipv4CidrContains(cidr: string, ip: string): boolean | null {
  const slash = cidr.indexOf('/');
  const prefixText = cidr.slice(slash + 1);
  if (slash < 0 || !/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) return null;
  const network = scanIPv4(cidr.slice(0, slash));
  const addr = network < 0 ? NOT_IPV4 : scanIPv4(ip);
  if (addr < 0) return null;
  const hostSpan = 2 ** (32 - Number(prefixText));
  return Math.floor(network / hostSpan) === Math.floor(addr / hostSpan);
}

/** Whether `ip` (canonical) lies inside `cidr` (canonical). Different families never match. */
export function cidrContains(cidr: string, ip: string): boolean {
  const v4 = ipv4CidrContains(cidr, ip);
  if (v4 !== null) return v4;
  const parsed = parseCIDR(cidr);
  const addr = parseIP(ip);
  if (!parsed || !addr || parsed.family !== addr.family) return false;
  return ipaddr.parse(addr.ip).match(ipaddr.parse(parsed.network), parsed.prefix);
}

/** `ip:port`, or `[ip]:port` for IPv6 (Go's net.JoinHostPort). */
export function joinHostPort(ip: string, port: number): string {
  // join() makes one flat string; a template literal makes a rope of two or three
  // pieces, and the intent keeps one address per endpoint (~3 MB more at 100k).
  return (familyOf(ip) === 6 ? ['[', ip, ']:', port] : [ip, ':', port]).join('');
}

/** The host route for one address: `/32` or `/128`. */
export function hostCIDR(ip: string): string {
  return `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;
}

export function isLoopback(ip: string): boolean {
  return familyOf(ip) === 4 ? cidrContains('127.0.0.0/8', ip) : ip === '::1';
}
