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
  NftType,
  NftValue,
  NftVerdict,
} from './model.js';
import { CLAIM_MAPS } from './names.js';
import { dataText, valueText } from './render-text.js';

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

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const addressKeys = new Map<string, string | null>();

/** The 8 hex digits of a dotted-quad IPv4 address, or null when `text` is not one. */
function ipv4Hex(text: string): string | null {
  let value = 0;
  let octet = -1;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (octet < 0 || ++dots > 3) return null;
      value = value * 256 + octet;
      octet = -1;
    } else if (c >= 48 && c <= 57) {
      octet = (octet < 0 ? 0 : octet * 10) + (c - 48);
      if (octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || octet < 0) return null;
  return (value * 256 + octet).toString(16).padStart(8, '0');
}

/** Address bytes in fixed-width hex; IPv4 sorts before IPv6, as compareIPs orders them. */
function addressSortKey(text: string): string | null {
  const v4 = ipv4Hex(text);
  if (v4 !== null) return `4${v4}`;
  if (!text.includes(':')) return null;
  const cached = addressKeys.get(text);
  if (cached !== undefined) return cached;
  const key = parseIP(text) ? `6${ipaddr.parse(text).toByteArray().map(hex2).join('')}` : null;
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
  if (typeof v !== 'object' || !('concat' in v)) return atomSortKey(v);
  let key = '';
  for (let i = 0; i < v.concat.length; i++) key += (i === 0 ? '' : '\u0001') + atomSortKey(v.concat[i] as NftAtom);
  return key;
}

/** An atom nft prints as `text` in a position of `type` (in an interval set, `a/len` is a prefix). */
function atomFromText(text: string, type: NftType, interval: boolean): NftAtom {
  if (type === 'inet_service' || type === 'mark') return Number(text);
  const slash = interval ? text.indexOf('/') : -1;
  return slash < 0 ? text : { prefix: text.slice(0, slash), len: Number(text.slice(slash + 1)) };
}

function valueFromText(text: string, types: readonly NftType[], interval: boolean): NftValue {
  if (types.length === 1) return atomFromText(text, types[0]!, interval);
  return { concat: text.split(' . ').map((part, i) => atomFromText(part, types[i]!, interval)) };
}

function verdictFromText(text: string): NftVerdict {
  const space = text.indexOf(' ');
  if (space < 0) return { kind: text as 'accept' | 'drop' | 'return' };
  return { kind: text.slice(0, space) as 'jump' | 'goto', target: text.slice(space + 1) };
}

/** The element whose key text and dataText these are, typed by its set's declaration. */
export function elementFromText(decl: Omit<NftSet, 'elements'>, key: string, data: string): NftElement {
  const interval = decl.flags.includes('interval');
  const element: NftElement = { key: valueFromText(key, decl.key, interval) };
  if (decl.data === 'verdict') element.value = verdictFromText(data);
  else if (decl.data !== null) element.value = valueFromText(data, [decl.data], false);
  return element;
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
 * and the destinations earlier service ports hold.
 */
export interface BuilderScope {
  outerSets: ReadonlySet<string>;
  /** Whether an earlier part of the table holds the destination `key` (its valueText). */
  heldOutside(key: string): boolean;
}

/**
 * Chains and the maps they read, built once per shape and shared by reference by every
 * part that uses them (shared-paths.ts); never mutated.
 */
export interface SharedBundle {
  name: string;
  decls: ReadonlyArray<Omit<NftSet, 'elements'>>;
  chains: readonly NftChain[];
  setNames: ReadonlySet<string>;
  chainNames: ReadonlySet<string>;
}

export function sharedBundle(name: string, decls: ReadonlyArray<Omit<NftSet, 'elements'>>, chains: readonly NftChain[]): SharedBundle {
  return { name, decls, chains, setNames: new Set(decls.map((d) => d.name)), chainNames: new Set(chains.map((c) => c.name)) };
}

/**
 * What one builder collected, unsorted: the raw material of a table or of one service port.
 * Flat arrays, not maps per set: the daemon keeps one of these per service port (10k+).
 */
export interface BuiltParts {
  /** Sets and maps declared here (the bundles' excepted). */
  decls: ReadonlyMap<string, Omit<NftSet, 'elements'>>;
  /**
   * Elements in insertion order, each (set, key) once, as text: three strings per element,
   * its set, its key text and its dataText ('' in a set without data). Text is all a batch
   * needs; toRuleset parses it back by the set's declared types.
   */
  elements: readonly string[];
  /** Chains built here (the bundles' excepted). */
  chains: ReadonlyMap<string, NftChain>;
  /** Shared bundles used, each once: a reference instead of a dozen chains and maps per part. */
  bundles: readonly SharedBundle[];
  /** Destinations (key texts) this builder tried to claim. */
  probes: readonly string[];
  /** Elements `ip . ip` of one set, one per endpoint listed (addSelfPairs). */
  selfPairs: SelfPairs | null;
  /** Map elements one per endpoint, kept as the endpoint list (addIndexed). */
  indexed: readonly IndexedElements[];
}

/**
 * The map elements `key : endpoints[i].ip` of the maps `sets[i]`, one per endpoint (the
 * shared path's per-index address maps, shared-paths.ts), kept as the endpoint list itself:
 * they are ~60% of a table's map elements, and three strings each, checked and pushed one by
 * one, were the largest part of lowering a cold 10k-service table.
 */
export interface IndexedElements {
  /** The destination's key text: a destination the part claimed. */
  key: string;
  /** The map of each index (at least as many as endpoints; a shared array, only ever extended). */
  sets: readonly string[];
  endpoints: ReadonlyArray<{ ip: string }>;
}

/**
 * The elements `ip . ip` of `set`, one per endpoint, kept as the endpoint list itself: the
 * hairpin set holds ~40% of a table's elements (97k at 10k services), and their key texts
 * and slots cost ~7 MB.
 */
export interface SelfPairs {
  set: string;
  endpoints: ReadonlyArray<{ ip: string }>;
}

/** The key text of the self-pair element of `ip`. */
export function selfPairKey(ip: string): string {
  return `${ip} . ${ip}`;
}

/** Builders with more elements than this find their own elements through a Set. */
const SCAN_LIMIT = 48;

const NO_INDEXED: readonly IndexedElements[] = Object.freeze([]);
const NO_DECLS: ReadonlyMap<string, Omit<NftSet, 'elements'>> = new Map();
const NO_CHAINS: ReadonlyMap<string, NftChain> = new Map();

/** Collects the chains, sets and elements of a table or of one service port while lowering. */
export class TableBuilder {
  /** Made on first use: most service ports declare no set and build no chain of their own. */
  private decls: Map<string, Omit<NftSet, 'elements'>> | null = null;
  private readonly elements: string[] = [];
  /** `set\nkey` of every element, once there are more than SCAN_LIMIT (a scan is cheaper below). */
  private seen: Set<string> | null = null;
  private chains: Map<string, NftChain> | null = null;
  private readonly bundles: SharedBundle[] = [];
  private readonly probes: string[] = [];
  private selfPairs: SelfPairs | null = null;
  private indexed: IndexedElements[] | null = null;
  /** Destinations claimable() granted: the only keys map elements may have (table-state.ts relies on it). */
  private readonly claimed: string[] = [];
  /** The last key object and its key text: a destination's key is passed a dozen times in a row. */
  private lastKey: NftValue | null = null;
  private lastKeyText = '';

  constructor(
    readonly family: NftFamily,
    private readonly scope: BuilderScope | null = null,
  ) {}

  get addrType(): 'ipv4_addr' | 'ipv6_addr' {
    return this.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  }

  hasSet(name: string): boolean {
    if (this.scope?.outerSets.has(name) || this.decls?.has(name)) return true;
    for (const bundle of this.bundles) if (bundle.setNames.has(name)) return true;
    return false;
  }

  addSet(set: Omit<NftSet, 'elements'>): void {
    if (this.hasSet(set.name)) return;
    (this.decls ??= new Map()).set(set.name, set);
  }

  /** One string per key object, so the parts kept between syncs do not hold 12 copies of it. */
  private keyOf(key: NftValue): string {
    if (key !== this.lastKey || typeof key !== 'object') {
      this.lastKey = key;
      this.lastKeyText = valueText(key);
    }
    return this.lastKeyText;
  }

  private has(set: string, key: string): boolean {
    const e = this.elements;
    if (this.seen !== null) return this.seen.has(`${set}\n${key}`);
    for (let i = 0; i < e.length; i += 3) if (e[i + 1] === key && e[i] === set) return true;
    return false;
  }

  /**
   * Whether the destination `key` is free for this service port: not in a dispatch map
   * (CLAIM_MAPS) here, nor (scoped) held by an earlier part.
   */
  claimable(key: NftValue): boolean {
    const k = this.keyOf(key);
    for (const map of CLAIM_MAPS) if (this.has(map, k)) return false;
    if (this.scope !== null) {
      this.probes.push(k);
      if (this.scope.heldOutside(k)) return false;
    }
    if (!this.claimed.includes(k)) this.claimed.push(k);
    return true;
  }

  /** Adds an element (`value`: a map's data) unless its key is taken; returns whether it was added. */
  addElement(setName: string, keyValue: NftValue, value?: NftValue | NftVerdict): boolean {
    if (!this.hasSet(setName)) {
      throw new Error(`kpx bug: element for undeclared set ${setName}`);
    }
    const key = this.keyOf(keyValue);
    if (this.has(setName, key)) return false;
    const data = value === undefined ? '' : dataText(value);
    if (data !== '' && !this.claimed.includes(key)) {
      throw new Error(`kpx bug: element of map ${setName} keyed by ${key}, a destination not claimed`);
    }
    const e = this.elements;
    e.push(setName, key, data);
    if (this.seen !== null) this.seen.add(`${setName}\n${key}`);
    else if (e.length > SCAN_LIMIT * 3) {
      this.seen = new Set();
      for (let i = 0; i < e.length; i += 3) this.seen.add(`${e[i]}\n${e[i + 1]}`);
    }
    return true;
  }

  /** Adds `ip . ip` to `set` for each of `endpoints` (see SelfPairs); once per builder. */
  addSelfPairs(set: string, endpoints: ReadonlyArray<{ ip: string }>): void {
    if (!this.hasSet(set)) throw new Error(`kpx bug: element for undeclared set ${set}`);
    if (this.selfPairs !== null) throw new Error('kpx bug: a second self-pair list in one part');
    if (endpoints.length > 0) this.selfPairs = { set, endpoints };
  }

  /**
   * Adds `key : endpoints[i].ip` to map `sets[i]` for each endpoint (see IndexedElements).
   * The maps hold nothing else, so the only possible repeat is a second list for the same
   * maps and key.
   */
  addIndexed(sets: readonly string[], keyValue: NftValue, endpoints: ReadonlyArray<{ ip: string }>): void {
    if (endpoints.length === 0) return;
    for (let i = 0; i < endpoints.length; i++) {
      if (!this.hasSet(sets[i] ?? '')) throw new Error(`kpx bug: element for undeclared set ${sets[i] ?? `#${i}`}`);
    }
    const key = this.keyOf(keyValue);
    if (!this.claimed.includes(key)) throw new Error(`kpx bug: elements of map ${sets[0]} keyed by ${key}, a destination not claimed`);
    const indexed = (this.indexed ??= []);
    if (indexed.some((l) => l.key === key && l.sets === sets)) throw new Error(`kpx bug: a second endpoint list for ${key} in ${sets[0]}`);
    indexed.push({ key, sets, endpoints });
  }

  hasChain(name: string): boolean {
    if (this.chains?.has(name)) return true;
    for (const bundle of this.bundles) if (bundle.chainNames.has(name)) return true;
    return false;
  }

  addChain(name: string, rules: NftRule[], base: NftBaseChain | null = null): void {
    if (this.hasChain(name)) return;
    (this.chains ??= new Map()).set(name, { name, base, rules });
  }

  useBundle(bundle: SharedBundle): void {
    if (!this.bundles.includes(bundle)) this.bundles.push(bundle);
  }

  /**
   * What was collected; the lists copied to their length, as the state keeps them for as
   * long as the part lives and a grown array holds room for ~17 entries whatever it holds.
   */
  parts(): BuiltParts {
    return {
      decls: this.decls ?? NO_DECLS,
      elements: this.elements.slice(),
      chains: this.chains ?? NO_CHAINS,
      bundles: this.bundles.slice(),
      probes: this.probes.slice(),
      selfPairs: this.selfPairs,
      indexed: this.indexed?.slice() ?? NO_INDEXED,
    };
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
