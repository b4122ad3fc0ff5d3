/** Reading IPs and CIDRs out of raw fields, canonical on the way out. */
import { type Findings, isAbsent, quote, readList, show } from './fields.js';
import { parseCIDR, parseIP, type ParsedIP } from './ip.js';

/** An IP address (IPv4 octets may carry leading zeros); absent or invalid is a problem. */
export function readIP(f: Findings, path: string, value: unknown): ParsedIP | null {
  if (typeof value !== 'string') {
    f.add(path, isAbsent(value) ? 'missing' : `${show(value)} is not a string`);
    return null;
  }
  const parsed = parseIP(value);
  if (!parsed) f.add(path, `${quote(value)} is not an IP address`);
  return parsed;
}

/** A list of IPs, canonical, duplicates (after canonicalization) dropped. */
export function readIPList(f: Findings, path: string, value: unknown): string[] {
  const ips: string[] = [];
  readList(f, path, value).forEach((item, i) => {
    const parsed = readIP(f, `${path}[${i}]`, item);
    if (parsed && !ips.includes(parsed.ip)) ips.push(parsed.ip);
  });
  return ips;
}

/**
 * A list of CIDRs, canonical (host bits cleared), duplicates dropped. Surrounding
 * whitespace is trimmed: kube-proxy accepts " 10.0.0.0/8 " in loadBalancerSourceRanges.
 */
export function readCIDRList(f: Findings, path: string, value: unknown): string[] {
  const cidrs: string[] = [];
  readList(f, path, value).forEach((item, i) => {
    if (typeof item !== 'string') {
      f.add(`${path}[${i}]`, `${show(item)} is not a string`);
      return;
    }
    const parsed = parseCIDR(item);
    if (!parsed) f.add(`${path}[${i}]`, `${quote(item)} is not a CIDR`);
    else if (!cidrs.includes(parsed.cidr)) cidrs.push(parsed.cidr);
  });
  return cidrs;
}
