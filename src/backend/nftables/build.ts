/**
 * Small constructors for IR expressions and statements, and the table builder that
 * collects chains and sets while lowering (first writer of a set key wins; output sorted).
 */
import ipaddr from 'ipaddr.js';
import { compareStrings } from '../../compile/order.js';
import { parseIP } from '../../model/ip.js';
import type {
  NftAtom,
  NftBaseChain,
  NftChain,
  NftElement,
  NftExpr,
  NftFamily,
  NftRule,
  NftRuleset,
  NftSet,
  NftStatement,
  NftValue,
  NftVerdict,
} from './model.js';

export const saddr: NftExpr = { kind: 'field', field: 'saddr' };
export const daddr: NftExpr = { kind: 'field', field: 'daddr' };
export const l4proto: NftExpr = { kind: 'field', field: 'l4proto' };
export const dport: NftExpr = { kind: 'field', field: 'dport' };
/** `ip daddr . meta l4proto . th dport`: the key of every service-address map. */
export const destKey: NftExpr = { kind: 'concat', parts: [daddr, l4proto, dport] };
/** `meta l4proto . th dport`: the key of every NodePort map. */
export const nodePortKey: NftExpr = { kind: 'concat', parts: [l4proto, dport] };

export const goto = (target: string): NftVerdict => ({ kind: 'goto', target });
export const jump = (target: string): NftVerdict => ({ kind: 'jump', target });
export const verdict = (v: NftVerdict): NftStatement => ({ kind: 'verdict', verdict: v });
export const rule = (...statements: NftStatement[]): NftRule => ({ statements });
export const lookup = (left: NftExpr, set: string, negate = false): NftStatement => ({ kind: 'lookup', left, set, negate });
export const fibLocal = (of: 'saddr' | 'daddr'): NftStatement => ({
  kind: 'match',
  left: { kind: 'fib-type', of },
  op: '==',
  right: 'local',
});
export const ctStateNew: NftStatement = { kind: 'match', left: { kind: 'ct-state' }, op: '==', right: 'new' };

/** A CIDR as an nft prefix; host routes stay plain addresses, as nft prints them. */
export function cidrValue(cidr: string): NftAtom {
  const [addr = '', len = '0'] = cidr.split('/');
  const prefix = Number(len);
  return prefix === (addr.includes(':') ? 128 : 32) ? addr : { prefix: addr, len: prefix };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const addressKeys = new Map<string, string | null>();

/** Address bytes in fixed-width hex; IPv4 sorts before IPv6, as compareIPs orders them. */
function addressSortKey(text: string): string | null {
  const cached = addressKeys.get(text);
  if (cached !== undefined) return cached;
  const v4 = IPV4.exec(text);
  let key: string | null;
  if (v4) key = `4${v4.slice(1).map((o) => hex2(Number(o))).join('')}`;
  else key = text.includes(':') && parseIP(text) ? `6${ipaddr.parse(text).toByteArray().map(hex2).join('')}` : null;
  if (addressKeys.size > 1_000_000) addressKeys.clear();
  addressKeys.set(text, key);
  return key;
}

/**
 * A string whose plain order is the element order: numbers numerically, then addresses by
 * their bytes, then other names, then prefixes. Computed once per element, so sorting
 * 100k elements does not parse addresses in every comparison.
 */
function atomSortKey(a: NftAtom): string {
  if (typeof a === 'number') return `0${a.toString(16).padStart(12, '0')}`;
  if (typeof a === 'string') {
    const addr = addressSortKey(a);
    return addr === null ? `2${a}` : `1${addr}`;
  }
  return `3${addressSortKey(a.prefix) ?? a.prefix}/${a.len.toString().padStart(3, '0')}`;
}

export function valueSortKey(v: NftValue): string {
  const atoms = typeof v === 'object' && 'concat' in v ? v.concat : [v];
  return atoms.map(atomSortKey).join('\u0001');
}

export function compareValues(a: NftValue, b: NftValue): number {
  return compareStrings(valueSortKey(a), valueSortKey(b));
}

export function valueKey(v: NftValue): string {
  return JSON.stringify(v);
}

function sortElements(elements: readonly NftElement[]): NftElement[] {
  return elements
    .map((element) => ({ element, key: valueSortKey(element.key) }))
    .sort((a, b) => compareStrings(a.key, b.key))
    .map((e) => e.element);
}

/**
 * How a builder that lowers one service port sees the rest of the table (see
 * table-state.ts): the skeleton's sets, which it adds elements to without declaring them,
 * and the destinations earlier service ports already hold.
 */
export interface BuilderScope {
  outerSets: ReadonlySet<string>;
  /** Whether an earlier part of the table holds `key` (a valueKey) in `set`. */
  heldOutside(set: string, key: string): boolean;
}

/** What one builder collected, unsorted: the raw material of a table or of one service port. */
export interface BuiltParts {
  /** Sets and maps declared here. */
  decls: ReadonlyMap<string, Omit<NftSet, 'elements'>>;
  /** Elements per set, keyed by valueKey, in insertion order. */
  members: ReadonlyMap<string, ReadonlyMap<string, NftElement>>;
  chains: ReadonlyMap<string, NftChain>;
  /** valueKeys passed to hasElement: the destinations this builder tried to claim. */
  probes: readonly string[];
}

/** Collects the table while lowering; `finish` sorts everything for byte-stable output. */
export class TableBuilder {
  private readonly decls = new Map<string, Omit<NftSet, 'elements'>>();
  private readonly members = new Map<string, Map<string, NftElement>>();
  private readonly chains = new Map<string, NftChain>();
  private readonly baseOrder: string[] = [];
  private readonly probes: string[] = [];

  constructor(
    readonly family: NftFamily,
    private readonly scope: BuilderScope | null = null,
  ) {}

  get addrType(): 'ipv4_addr' | 'ipv6_addr' {
    return this.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  }

  hasSet(name: string): boolean {
    return this.decls.has(name) || (this.scope?.outerSets.has(name) ?? false);
  }

  addSet(set: Omit<NftSet, 'elements'>): void {
    if (this.hasSet(set.name)) return;
    this.decls.set(set.name, set);
    this.members.set(set.name, new Map());
  }

  /** Whether `key` is already in the set (or map), here or (scoped) in an earlier part. */
  hasElement(setName: string, key: NftValue): boolean {
    const k = valueKey(key);
    if (this.members.get(setName)?.has(k)) return true;
    if (this.scope === null) return false;
    this.probes.push(k);
    return this.scope.heldOutside(setName, k);
  }

  /** Adds an element unless its key is taken; returns whether it was added. */
  addElement(setName: string, element: NftElement): boolean {
    let members = this.members.get(setName);
    if (!members) {
      if (!this.scope?.outerSets.has(setName)) throw new Error(`kpx bug: element for undeclared set ${setName}`);
      members = new Map();
      this.members.set(setName, members);
    }
    const key = valueKey(element.key);
    if (members.has(key)) return false;
    members.set(key, element);
    return true;
  }

  hasChain(name: string): boolean {
    return this.chains.has(name);
  }

  addChain(name: string, rules: NftRule[], base: NftBaseChain | null = null): void {
    if (this.chains.has(name)) return;
    this.chains.set(name, { name, base, rules });
    if (base) this.baseOrder.push(name);
  }

  parts(): BuiltParts {
    return { decls: this.decls, members: this.members, chains: this.chains, probes: this.probes };
  }

  finish(table: string, comment: string): NftRuleset {
    const sets = [...this.decls.values()].map((s) => ({ ...s, elements: [...(this.members.get(s.name)?.values() ?? [])] }));
    return assembleRuleset(this.family, table, comment, sets, [...this.chains.values()]);
  }
}

/**
 * The table in its canonical order: sets by name with sorted elements, base chains in the
 * order given, then regular chains by name.
 */
export function assembleRuleset(
  family: NftFamily,
  table: string,
  comment: string,
  sets: readonly NftSet[],
  chains: readonly NftChain[],
): NftRuleset {
  const sorted = sets.map((s) => ({ ...s, elements: sortElements(s.elements) })).sort((a, b) => compareStrings(a.name, b.name));
  const base = chains.filter((c) => c.base !== null);
  const regular = chains.filter((c) => c.base === null).sort((a, b) => compareStrings(a.name, b.name));
  return { family, table, comment, sets: sorted, chains: [...base, ...regular] };
}
