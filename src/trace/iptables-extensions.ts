/**
 * The match and target extensions the tracer understands (`-m NAME …`, `-j NAME …`), with
 * the options each accepts, and their decoding into `Match` and `Target` values. Tables
 * are Maps, not object literals, because the names looked up come from the input.
 */
import { familyOf, parseIP } from '../model/ip.js';
import type { Match, RuleContext, Target } from './iptables-rule.js';

export type Fail = { error: string };

export function isFail(x: unknown): x is Fail {
  return typeof x === 'object' && x !== null && 'error' in x;
}

/** Options an extension accepts, with the number of values each takes. */
export type OptionSpec = ReadonlyMap<string, 0 | 1>;

export const PORT_MODULE: OptionSpec = new Map([['--dport', 1], ['--destination-port', 1]]);

export const MATCH_MODULES: ReadonlyMap<string, OptionSpec> = new Map<string, OptionSpec>([
  ['tcp', PORT_MODULE],
  ['udp', PORT_MODULE],
  ['sctp', PORT_MODULE],
  ['comment', new Map([['--comment', 1]])],
  ['addrtype', new Map([['--src-type', 1], ['--dst-type', 1]])],
  ['conntrack', new Map([['--ctstate', 1]])],
  ['mark', new Map([['--mark', 1]])],
  ['statistic', new Map([['--mode', 1], ['--probability', 1]])],
  ['recent', new Map([['--name', 1], ['--rcheck', 0], ['--set', 0], ['--seconds', 1], ['--reap', 0], ['--rsource', 0]])],
]);

export const NO_OPTIONS: OptionSpec = new Map();

export const TARGETS: ReadonlyMap<string, OptionSpec> = new Map<string, OptionSpec>([
  ['ACCEPT', NO_OPTIONS],
  ['DROP', NO_OPTIONS],
  ['RETURN', NO_OPTIONS],
  ['REJECT', new Map([['--reject-with', 1]])],
  ['DNAT', new Map([['--to-destination', 1]])],
  ['MARK', new Map([['--set-xmark', 1], ['--set-mark', 1], ['--or-mark', 1], ['--xor-mark', 1], ['--and-mark', 1]])],
  ['MASQUERADE', new Map([['--random-fully', 0], ['--random', 0]])],
]);

/** Targets only a table's own hooks accept (x_tables `.table` of ipt_REJECT, xt_nat, xt_MASQUERADE). */
const TARGET_TABLE: ReadonlyMap<string, string> = new Map([['REJECT', 'filter'], ['DNAT', 'nat'], ['MASQUERADE', 'nat']]);

const CT_STATES = new Set(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT']);

export interface ModuleUse {
  name: string;
  /** What the module accepts; for a jump to a chain, nothing. */
  spec: OptionSpec;
  options: Map<string, { negate: boolean; value: string | null }>;
}

function parseNumber(text: string, max: number): number | null {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= max ? value : null;
}

function parsePortRange(text: string): { from: number; to: number } | null {
  const [fromText, toText, extra] = text.split(':');
  if (fromText === undefined || extra !== undefined) return null;
  const from = /^\d+$/.test(fromText) ? parseNumber(fromText, 65535) : null;
  const to = toText === undefined ? from : /^\d+$/.test(toText) ? parseNumber(toText, 65535) : null;
  return from === null || to === null || from > to ? null : { from, to };
}

function parseMarkPair(text: string): { value: number; mask: number } | null {
  const [valueText, maskText, extra] = text.split('/');
  if (valueText === undefined || extra !== undefined) return null;
  const value = parseNumber(valueText, 0xffffffff);
  const mask = maskText === undefined ? 0xffffffff : parseNumber(maskText, 0xffffffff);
  return value === null || mask === null ? null : { value, mask };
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`; a bare IPv6 address has no port. */
function parseDnatDestination(text: string): { ip: string; port: number | null } | null {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([0-9.]+)(?::(\d+))?$/.exec(text);
  const m = bracketed ?? v4;
  const ip = parseIP(m ? (m[1] ?? '') : text);
  if (!ip) return null;
  const portText = m?.[2];
  if (portText === undefined) return { ip: ip.ip, port: null };
  const port = parseNumber(portText, 65535);
  return port === null || port === 0 ? null : { ip: ip.ip, port };
}

function optionValue(use: ModuleUse, option: string): { negate: boolean; value: string | null } | undefined {
  return use.options.get(option);
}

function decodePortModule(use: ModuleUse): Match[] | Fail {
  const dport = optionValue(use, '--dport') ?? optionValue(use, '--destination-port');
  if (!dport) return [];
  const range = parsePortRange(dport.value ?? '');
  if (!range) return { error: `bad --dport "${dport.value}"` };
  return [{ kind: 'dport', negate: dport.negate, ...range }];
}

function decodeAddrtype(use: ModuleUse): Match[] | Fail {
  const matches: Match[] = [];
  for (const [option, field] of [['--src-type', 'src'], ['--dst-type', 'dst']] as const) {
    const opt = optionValue(use, option);
    if (!opt) continue;
    if (opt.value !== 'LOCAL') return { error: `addrtype ${option} ${opt.value} is not supported (only LOCAL)` };
    matches.push({ kind: 'local', field, negate: opt.negate });
  }
  return matches.length > 0 ? matches : { error: 'addrtype without --src-type or --dst-type' };
}

function decodeConntrack(use: ModuleUse): Match[] | Fail {
  const opt = optionValue(use, '--ctstate');
  if (!opt) return { error: 'conntrack without --ctstate' };
  const states = (opt.value ?? '').split(',');
  const unknown = states.find((s) => !CT_STATES.has(s));
  if (unknown !== undefined) return { error: `unknown conntrack state "${unknown}"` };
  return [{ kind: 'ctstate', negate: opt.negate, states }];
}

function decodeMark(use: ModuleUse): Match[] | Fail {
  const opt = optionValue(use, '--mark');
  const pair = parseMarkPair(opt?.value ?? '');
  if (!opt || !pair) return { error: `bad mark match "${opt?.value ?? ''}"` };
  return [{ kind: 'mark', negate: opt.negate, ...pair }];
}

function decodeStatistic(use: ModuleUse): Match[] | Fail {
  const mode = optionValue(use, '--mode');
  const probability = optionValue(use, '--probability');
  if (mode?.value !== 'random' || !probability) return { error: 'statistic is supported only as --mode random --probability P' };
  const p = Number(probability.value);
  if (!/^\d*\.?\d+$/.test(probability.value ?? '') || !(p >= 0 && p <= 1)) {
    return { error: `bad probability "${probability.value}"` };
  }
  return [{ kind: 'statistic', negate: probability.negate, probability: p }];
}

function decodeRecent(use: ModuleUse): Match[] | Fail {
  const check = optionValue(use, '--rcheck');
  const set = optionValue(use, '--set');
  if (!optionValue(use, '--name') || (check ? 1 : 0) + (set ? 1 : 0) !== 1) {
    return { error: 'recent is supported only as --name N with one of --rcheck or --set' };
  }
  if (set && (use.options.has('--seconds') || use.options.has('--reap'))) {
    return { error: 'recent --set takes no --seconds or --reap' };
  }
  return [{ kind: 'recent', negate: (check ?? set)?.negate ?? false, check: check !== undefined }];
}

export function decodeModule(use: ModuleUse): Match[] | Fail {
  switch (use.name) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      return decodePortModule(use);
    case 'comment':
      return [];
    case 'addrtype':
      return decodeAddrtype(use);
    case 'conntrack':
      return decodeConntrack(use);
    case 'mark':
      return decodeMark(use);
    case 'statistic':
      return decodeStatistic(use);
    default:
      return decodeRecent(use);
  }
}

function decodeMarkTarget(use: ModuleUse): Target | Fail {
  const [entry, ...others] = [...use.options.entries()];
  if (!entry || others.length > 0) return { error: 'MARK needs exactly one of its options' };
  const [option, { value }] = entry;
  const pair = parseMarkPair(value ?? '');
  if (!pair) return { error: `bad ${option} "${value}"` };
  const { value: v, mask } = pair;
  switch (option) {
    case '--set-xmark':
      return { kind: 'MARK', clear: mask, toggle: v };
    case '--set-mark':
      // libxt_MARK 1.8 turns `--set-mark V/M` into `--set-xmark V/(V|M)`.
      return { kind: 'MARK', clear: (v | mask) >>> 0, toggle: v };
    case '--or-mark':
      return { kind: 'MARK', clear: v, toggle: v };
    case '--xor-mark':
      return { kind: 'MARK', clear: 0, toggle: v };
    default:
      return { kind: 'MARK', clear: ~v >>> 0, toggle: 0 };
  }
}

export function decodeTarget(use: ModuleUse | null, context: RuleContext): Target | Fail {
  if (!use) return { kind: 'none' };
  const requiredTable = TARGET_TABLE.get(use.name);
  if (requiredTable !== undefined && requiredTable !== context.table) {
    return { error: `${use.name} is valid only in the ${requiredTable} table` };
  }
  switch (use.name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'REJECT':
    case 'MASQUERADE':
      return { kind: use.name };
    case 'MARK':
      return decodeMarkTarget(use);
    case 'DNAT': {
      const to = parseDnatDestination(use.options.get('--to-destination')?.value ?? '');
      if (!to) return { error: 'DNAT needs --to-destination IP[:PORT]' };
      if (familyOf(to.ip) !== context.family) return { error: `DNAT to ${to.ip} in an IPv${context.family} ruleset` };
      return { kind: 'DNAT', ...to };
    }
    default:
      return context.chains.has(use.name) ? { kind: 'jump', chain: use.name } : { error: `unsupported target or undeclared chain ${use.name}` };
  }
}
