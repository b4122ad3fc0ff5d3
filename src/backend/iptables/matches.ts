/** Token builders for the matches kpx's rules are made of. */
import type { L4Protocol, NoEndpointVerdict } from '../../compile/intent.js';
import type { ParsedCIDR } from '../../model/ip.js';
import type { IPFamily } from '../../model/types.js';

/** xt_comment stores at most 255 bytes plus a NUL (XT_MAX_COMMENT_LEN); iptables refuses longer. */
const MAX_COMMENT_BYTES = 255;

const encoder = new TextEncoder();

function clampUtf8(text: string, maxBytes: number): string {
  // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
  if (text.length * 3 <= maxBytes || encoder.encode(text).length <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** The match a comment's text follows: `[...COMMENT, commentText(text)]` is `comment(text)`. */
export const COMMENT: readonly string[] = ['-m', 'comment', '--comment'];

/** A comment's text as xt_comment can hold it. */
export function commentText(text: string): string {
  return clampUtf8(text, MAX_COMMENT_BYTES);
}

export function comment(text: string): string[] {
  return [...COMMENT, commentText(text)];
}

/** `-m tcp -p tcp`: the protocol match plus the extension that provides `--dport`. */
export function protocol(proto: L4Protocol): string[] {
  return ['-m', proto, '-p', proto];
}

export function jump(target: string): string[] {
  return ['-j', target];
}

export function hexMark(mark: number): string {
  return `0x${mark.toString(16)}`;
}

export function noEndpointsComment(name: string, verdict: NoEndpointVerdict): string {
  return verdict === 'REJECT' ? `${name} has no endpoints` : `${name} has no local endpoints`;
}

/**
 * The destination matches NodePorts answer on, one token list per `--nodeport-addresses`
 * CIDR. Loopback is excluded from the all-addresses CIDR: kpx never enables
 * `route_localnet`, and kube-proxy's nftables mode does not answer there either.
 */
export function nodePortDestinations(cidrs: readonly ParsedCIDR[], family: IPFamily): string[][] {
  const fullPrefix = family === 4 ? 32 : 128;
  const loopback = family === 4 ? '127.0.0.0/8' : '::1/128';
  return cidrs.map((cidr) => {
    if (cidr.prefix === fullPrefix) return ['-d', cidr.network];
    if (cidr.prefix === 0) return ['-m', 'addrtype', '--dst-type', 'LOCAL', '!', '-d', loopback];
    return ['-d', cidr.cidr, '-m', 'addrtype', '--dst-type', 'LOCAL'];
  });
}
