/**
 * Decodes a rule's tokens into the matches and the target the tracer can evaluate. The
 * supported set is deliberately closed: any other match, option or target is an error,
 * so a rule shape the tracer does not understand can never be silently mis-traced.
 */
import { parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.js';
import type { IPFamily } from '../model/types.js';
import {
  decodeModule,
  decodeTarget,
  isFail,
  MATCH_MODULES,
  NO_OPTIONS,
  PORT_MODULE,
  TARGETS,
  type Fail,
  type ModuleUse,
} from './iptables-extensions.js';

export type Match =
  | { kind: 'protocol'; negate: boolean; protocol: string }
  | { kind: 'address'; field: 'src' | 'dst'; negate: boolean; cidr: ParsedCIDR }
  | { kind: 'dport'; negate: boolean; from: number; to: number }
  /** `addrtype --src-type/--dst-type LOCAL`; no other address type is supported. */
  | { kind: 'local'; field: 'src' | 'dst'; negate: boolean }
  | { kind: 'ctstate'; negate: boolean; states: string[] }
  | { kind: 'mark'; negate: boolean; value: number; mask: number }
  | { kind: 'statistic'; negate: boolean; probability: number }
  /** `recent --rcheck` (needs history: never true here) or `recent --set` (always true). */
  | { kind: 'recent'; negate: boolean; check: boolean };

export type Target =
  | { kind: 'none' }
  | { kind: 'jump'; chain: string }
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' | 'REJECT' | 'MASQUERADE' }
  /** `port` null: `--to-destination IP` keeps the packet's port. */
  | { kind: 'DNAT'; ip: string; port: number | null }
  /** The new mark is `(mark & ~clear) ^ toggle`, which covers every MARK option. */
  | { kind: 'MARK'; clear: number; toggle: number };

export interface DecodedRule {
  matches: Match[];
  target: Target;
}

const PROTOCOL_NUMBERS: ReadonlyMap<string, string> = new Map([['6', 'tcp'], ['17', 'udp'], ['132', 'sctp']]);
const PROTOCOL_NAMES = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'ipv6-icmp', 'all']);

function parseAddress(text: string): ParsedCIDR | null {
  if (text.includes('/')) return parseCIDR(text);
  const ip = parseIP(text);
  return ip ? parseCIDR(`${ip.ip}/${ip.family === 4 ? 32 : 128}`) : null;
}

function builtinMatch(option: string, value: string, negate: boolean, family: IPFamily): Match | Fail {
  if (option === '-p' || option === '--protocol') {
    const protocol = PROTOCOL_NUMBERS.get(value) ?? value.toLowerCase();
    if (!PROTOCOL_NAMES.has(protocol)) return { error: `unknown protocol "${value}"` };
    return { kind: 'protocol', negate, protocol };
  }
  const cidr = parseAddress(value);
  if (!cidr) return { error: `bad address "${value}"` };
  if (cidr.family !== family) return { error: `IPv${cidr.family} address ${value} in an IPv${family} ruleset` };
  return { kind: 'address', field: option === '-s' || option === '--source' ? 'src' : 'dst', negate, cidr };
}

/** The target first, then the matches loaded so far, latest first. */
function findOptionOwner(option: string, target: ModuleUse | null, modules: readonly ModuleUse[]): ModuleUse | undefined {
  if (target?.spec.has(option)) return target;
  for (let k = modules.length - 1; k >= 0; k--) {
    const use = modules[k];
    if (use?.spec.has(option)) return use;
  }
  return undefined;
}

const BUILTIN_OPTIONS = new Set(['-p', '--protocol', '-s', '--source', '-d', '--destination']);

/**
 * Port-dependent parts need their protocol in the same rule: `-m tcp|udp|sctp` needs `-p`
 * of its protocol, and DNAT to a port needs `-p tcp|udp|sctp` (iptables 1.8.9 refuses both).
 */
function checkPortProtocols(modules: ModuleUse[], matches: Match[], target: Target): Fail | null {
  const protocols = matches.flatMap((m) => (m.kind === 'protocol' && !m.negate ? [m.protocol] : []));
  const bad = modules.find((m) => m.spec === PORT_MODULE && !protocols.includes(m.name));
  if (bad) return { error: `-m ${bad.name} needs -p ${bad.name}` };
  const portProtocol = protocols.some((p) => MATCH_MODULES.get(p) === PORT_MODULE);
  if (target.kind === 'DNAT' && target.port !== null && !portProtocol) {
    return { error: 'DNAT to a port needs -p tcp, udp or sctp' };
  }
  return null;
}

export interface RuleContext {
  table: string;
  /** The chains of that table: jump targets must be among them. */
  chains: ReadonlySet<string>;
  /** iptables-restore or ip6tables-restore: addresses of the other family are refused. */
  family: IPFamily;
}

/**
 * Decodes one rule. Options are looked up among the modules loaded so far, latest first,
 * as iptables does; `-p tcp|udp|sctp` loads its port match implicitly.
 */
export function decodeRule(tokens: readonly string[], context: RuleContext): DecodedRule | Fail {
  const matches: Match[] = [];
  const modules: ModuleUse[] = [];
  let target: ModuleUse | null = null;
  let negate = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (token === '!') {
      if (negate) return { error: 'double "!"' };
      negate = true;
      continue;
    }
    const next = tokens[i + 1];
    if (token === '-m' || token === '--match' || token === '-j' || token === '--jump') {
      if (negate) return { error: `"!" cannot precede ${token}` };
      if (next === undefined) return { error: `${token} needs a name` };
      i++;
      if (token === '-m' || token === '--match') {
        const spec = MATCH_MODULES.get(next);
        if (!spec) return { error: `unsupported match module "${next}"` };
        modules.push({ name: next, spec, options: new Map() });
      } else {
        if (target) return { error: 'more than one target' };
        target = { name: next, spec: TARGETS.get(next) ?? NO_OPTIONS, options: new Map() };
      }
      continue;
    }
    if (BUILTIN_OPTIONS.has(token)) {
      if (next === undefined) return { error: `${token} needs a value` };
      const match = builtinMatch(token, next, negate, context.family);
      if (isFail(match)) return match;
      matches.push(match);
      if (match.kind === 'protocol' && !match.negate && MATCH_MODULES.get(match.protocol) === PORT_MODULE) {
        if (!modules.some((m) => m.name === match.protocol)) {
          modules.unshift({ name: match.protocol, spec: PORT_MODULE, options: new Map() });
        }
      }
      negate = false;
      i++;
      continue;
    }
    const owner = findOptionOwner(token, target, modules);
    if (!owner) return { error: `unsupported option "${token}"` };
    if (owner.options.has(token)) return { error: `option ${token} given twice` };
    const arity = owner.spec.get(token);
    if (arity === 1 && next === undefined) return { error: `${token} needs a value` };
    owner.options.set(token, { negate, value: arity === 1 ? (next ?? null) : null });
    if (negate && owner === target) return { error: `"!" cannot precede target option ${token}` };
    negate = false;
    if (arity === 1) i++;
  }
  if (negate) return { error: 'dangling "!"' };
  for (const use of modules) {
    const decoded = decodeModule(use);
    if (isFail(decoded)) return decoded;
    matches.push(...decoded);
  }
  const decodedTarget = decodeTarget(target, context);
  if (isFail(decodedTarget)) return decodedTarget;
  const portFailure = checkPortProtocols(modules, matches, decodedTarget);
  if (portFailure) return portFailure;
  return { matches, target: decodedTarget };
}
