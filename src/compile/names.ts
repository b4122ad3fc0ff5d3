/**
 * Deterministic chain names, derived the way kube-proxy derives them so that names are
 * stable across restarts and partial syncs can reuse chains. The one place names are made.
 */
import { createHash, hash } from 'node:crypto';
import type { L4Protocol, ServicePortIntent } from './intent.js';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet, as Go's base32.StdEncoding), without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * base32 of the bytes written in `hex`, stopping after `length` characters: the same
 * characters as `base32(bytes).slice(0, length)`.
 */
function base32FromHex(hex: string, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < hex.length && out.length < length; i++) {
    const c = hex.charCodeAt(i);
    buffer = (buffer << 4) | (c <= 57 ? c - 48 : c - 87); // lower-case hex digits
    bits += 4;
    if (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
      buffer &= (1 << bits) - 1;
    }
  }
  if (bits > 0 && out.length < length) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Node 20.12+ has the one-shot `crypto.hash`, several times cheaper for short inputs. */
const sha256Hex: (text: string) => string =
  typeof hash === 'function'
    ? (text) => hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text).digest('hex');

/** The first `length` characters of base32(sha256(text)). */
export function hashPrefix(text: string, length: number): string {
  return base32FromHex(sha256Hex(text), length);
}

/** kube-proxy's `portProtoHash`: 16 chars for `KUBE-SVC-…` style names (≤ 28 chars in all). */
function iptablesHash(servicePortName: string, protocol: L4Protocol, endpoint = ''): string {
  return hashPrefix(servicePortName + protocol + endpoint, 16);
}

export interface IptablesServiceChains {
  cluster: string;
  local: string;
  external: string;
  firewall: string;
}

export function iptablesServiceChains(sp: Pick<ServicePortIntent, 'name' | 'protocol'>): IptablesServiceChains {
  const hash = iptablesHash(sp.name, sp.protocol);
  return {
    cluster: `KUBE-SVC-${hash}`,
    local: `KUBE-SVL-${hash}`,
    external: `KUBE-EXT-${hash}`,
    firewall: `KUBE-FW-${hash}`,
  };
}

/** The KUBE-SEP chain of the endpoint at `address` (endpointAddress). */
export function iptablesEndpointChain(sp: Pick<ServicePortIntent, 'name' | 'protocol'>, address: string): string {
  return `KUBE-SEP-${iptablesHash(sp.name, sp.protocol, address)}`;
}
