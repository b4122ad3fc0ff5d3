/**
 * Defensive checks between the compiler and the kernel. The model already normalizes
 * everything; this re-checks what would make iptables-restore refuse the whole batch (or
 * silently mean something else), so one bad service port cannot break every other one.
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { canonicalIPv4Value, familyOf, parseCIDR, parseIP, type ParsedCIDR } from '../../model/ip.js';
import type { IPFamily, Problem } from '../../model/types.js';

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
/** xt_recent keeps `--seconds` in a u32 (iptables 1.8.9 takes 1..2^32-1); Kubernetes caps it at 86400. */
const MAX_AFFINITY_SECONDS = 2 ** 32 - 1;

const familyName = (family: IPFamily) => (family === 4 ? 'IPv4' : 'IPv6');

/**
 * Only canonical text passes: iptables reads `010.0.0.1` with inet_aton, i.e. as octal,
 * so a non-canonical address would silently name another host.
 */
function isCanonicalIP(text: string, family: IPFamily): boolean {
  if (family === 4) return canonicalIPv4Value(text) !== null;
  const parsed = parseIP(text);
  return parsed !== null && parsed.family === family && parsed.ip === text;
}

function isCanonicalCIDR(text: string, family: IPFamily): boolean {
  const parsed = parseCIDR(text);
  return parsed !== null && parsed.family === family && parsed.cidr === text;
}

function isPort(value: number, allowZero: boolean): boolean {
  return Number.isInteger(value) && value <= 65535 && (allowZero ? value >= 0 : value >= 1);
}

function endpointProblem(ep: EndpointIntent, family: IPFamily): string | null {
  if (!isCanonicalIP(ep.ip, family)) return `endpoint ${JSON.stringify(ep.ip)} is not a canonical ${familyName(family)} address`;
  if (!isPort(ep.port, false)) return `endpoint ${ep.ip} has port ${ep.port} out of range`;
  return null;
}

/**
 * The first problem among `list`'s endpoints, skipping those that are the very objects of
 * `checked`. The compiler builds the per-policy lists from the objects of the union, in
 * the same order, so a forward scan finds them; once one is missing (another producer),
 * the rest is checked without searching, which keeps this linear.
 */
function endpointsProblem(list: readonly EndpointIntent[], checked: readonly EndpointIntent[], family: IPFamily): string | null {
  let from = 0;
  for (const ep of list) {
    const at = from < 0 ? -1 : checked.indexOf(ep, from);
    from = at < 0 ? -1 : at + 1;
    if (at >= 0) continue;
    const problem = endpointProblem(ep, family);
    if (problem !== null) return problem;
  }
  return null;
}

/** Why the iptables backend cannot lower this service port, or null when it can. */
export function servicePortProblem(sp: ServicePortIntent, family: IPFamily): string | null {
  if (!PROTOCOLS.has(sp.protocol)) return `protocol ${JSON.stringify(sp.protocol)} is not supported`;
  if (/[\u0000-\u001f\u007f]/.test(sp.name)) return 'the service port name contains control characters';
  if (!isCanonicalIP(sp.clusterIP, family)) return `cluster IP ${JSON.stringify(sp.clusterIP)} is not a canonical ${familyName(family)} address`;
  if (!isPort(sp.port, false)) return `port ${sp.port} is out of range`;
  if (!isPort(sp.nodePort, true)) return `node port ${sp.nodePort} is out of range`;
  if (!isPort(sp.healthCheckNodePort, true)) return `health check node port ${sp.healthCheckNodePort} is out of range`;
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
    if (!isCanonicalIP(ip, family)) return `external address ${JSON.stringify(ip)} is not a canonical ${familyName(family)} address`;
  }
  const timeout = sp.affinityTimeoutSeconds;
  if (timeout !== null && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= MAX_AFFINITY_SECONDS)) {
    return `session affinity timeout ${timeout} is out of range`;
  }
  for (const range of sp.firewall?.sourceRanges ?? []) {
    if (!isCanonicalCIDR(range, family)) return `source range ${JSON.stringify(range)} is not a canonical ${familyName(family)} CIDR`;
  }
  return (
    endpointsProblem(sp.endpoints, [], family) ??
    endpointsProblem(sp.clusterEndpoints, sp.endpoints, family) ??
    endpointsProblem(sp.localEndpoints, sp.endpoints, family)
  );
  return null;
}

export interface CheckedGlobals {
  mark: number;
  /**
   * The pod CIDR of this family for the local-traffic detector, or null. An iptables rule
   * takes one `-s`, and `--cluster-cidr` allows one CIDR per family, so the first is used.
   */
  podCIDR: string | null;
  nodePortCIDRs: ParsedCIDR[];
  problems: Problem[];
}

const DEFAULT_MASQUERADE_MARK = 0x4000;

function configProblem(name: string, reason: string): Problem {
  return { kind: 'ProxyConfig', namespace: '', name, reason: `iptables: ${reason}` };
}

export function checkGlobals(intent: RulesetIntent): CheckedGlobals {
  const problems: Problem[] = [];
  let mark = intent.masquerade.mark;
  if (!(Number.isInteger(mark) && mark > 0 && mark <= 0xffffffff)) {
    problems.push(configProblem('masquerade.mark', `mark ${mark} is not a non-zero 32-bit value; using 0x4000`));
    mark = DEFAULT_MASQUERADE_MARK;
  }
  const podCIDRs = (intent.podCIDRs ?? []).filter((cidr) => {
    const ok = isCanonicalCIDR(cidr, intent.family);
    if (!ok) problems.push(configProblem('podCIDRs', `${JSON.stringify(cidr)} is not a canonical ${familyName(intent.family)} CIDR; ignored`));
    return ok;
  });
  const nodePortCIDRs: ParsedCIDR[] = [];
  for (const cidr of intent.nodePortCIDRs) {
    const parsed = parseCIDR(cidr);
    if (parsed && parsed.family === intent.family && parsed.cidr === cidr) nodePortCIDRs.push(parsed);
    else problems.push(configProblem('nodePortCIDRs', `${JSON.stringify(cidr)} is not a canonical ${familyName(intent.family)} CIDR; ignored`));
  }
  return { mark, podCIDR: podCIDRs[0] ?? null, nodePortCIDRs, problems };
}
