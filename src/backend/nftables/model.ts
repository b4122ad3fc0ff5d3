/**
 * The nftables IR: one table with its chains, sets and maps, as plain data. Both renderers
 * (`nft -f` text, libnftables JSON) and the tracer read it; the daemon can diff it
 * element-wise. Expressions and statements form a closed union: a shape not listed here
 * cannot be emitted, and the tracer refuses anything it does not model.
 */

export type NftFamily = 'ip' | 'ip6';

/** Packet fields kpx matches on. `l4proto` is `meta l4proto`, `dport` is `th dport`. */
export type NftField = 'saddr' | 'daddr' | 'l4proto' | 'dport';

export type NftExpr =
  | { kind: 'field'; field: NftField }
  /** `meta mark`, or `meta mark & mask` when mask is set. */
  | { kind: 'mark'; mask?: number }
  | { kind: 'numgen'; mod: number }
  /** `fib saddr type` / `fib daddr type`: 'local' for the node's own addresses. */
  | { kind: 'fib-type'; of: 'saddr' | 'daddr' }
  | { kind: 'ct-state' }
  | { kind: 'ct-status' }
  /**
   * `ct original ip daddr` / `ct original proto-dst`: the connection's destination before
   * DNAT, read after it. nft 1.0.6 types `proto-dst` only after a `meta l4proto` match
   * ("can not use variable sized data types" otherwise).
   */
  | { kind: 'ct-original'; field: 'daddr' | 'proto-dst' }
  /**
   * `value`, whatever the packet: `ip daddr & 0.0.0.0 ^ 10.0.0.1`, `th dport & 0 ^ 80`.
   * nft 1.0.6 refuses a constant inside a lookup key's concatenation ("Can't parse symbolic
   * invalid expressions", text and JSON alike), but takes this, which compiles to one
   * `bitwise reg = (reg & 0) ^ value`. It puts a service port and an endpoint into an
   * affinity key; `mark` is only a 32-bit slot there (`meta mark & 0 ^ value`).
   */
  | { kind: 'pinned'; field: 'daddr' | 'dport' | 'mark'; value: string | number }
  | { kind: 'concat'; parts: NftExpr[] };

/**
 * A constant. Strings are addresses, protocol names (`tcp`), fib types (`local`), ct
 * states/statuses (`new`, `dnat`); numbers are ports, marks and numgen values.
 */
export type NftAtom = string | number | { prefix: string; len: number };
export type NftValue = NftAtom | { concat: NftAtom[] };

export type NftVerdict =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'jump'; target: string }
  | { kind: 'goto'; target: string };

/** Where a DNAT address or port comes from: a constant, or a lookup in a named map. */
export type NftNatSource = { value: NftAtom } | { map: string; key: NftExpr };

export type NftStatement =
  /** `left op right`; an array right-hand side is an anonymous set. */
  | { kind: 'match'; left: NftExpr; op: '==' | '!='; right: NftValue | NftValue[] }
  /** `left @set` / `left != @set`. */
  | { kind: 'lookup'; left: NftExpr; set: string; negate: boolean }
  /** `key vmap @map`, or `key vmap { value : verdict, … }` when `map` is an array. */
  | { kind: 'vmap'; key: NftExpr; map: string | Array<[NftValue, NftVerdict]> }
  | { kind: 'verdict'; verdict: NftVerdict }
  | { kind: 'mark-set'; op: 'or' | 'xor'; value: number }
  | { kind: 'dnat'; addr: NftNatSource; port: NftNatSource }
  | { kind: 'masquerade'; fullyRandom: boolean }
  /** ICMP(v6) port unreachable, as a bare `reject` in an ip/ip6 table. */
  | { kind: 'reject' }
  /** `update @set { key [timeout Ns] }`: adds or refreshes an entry of a dynamic set (session affinity). */
  | { kind: 'set-update'; set: string; key: NftExpr; timeout?: number };

export interface NftRule {
  statements: NftStatement[];
}

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface NftBaseChain {
  type: 'filter' | 'nat';
  hook: NftHook;
  /** Numeric priority: dstnat = -100, srcnat = 100 in the ip and ip6 families. */
  priority: number;
}

export interface NftChain {
  name: string;
  /** null for a regular chain, reached only by jump/goto. */
  base: NftBaseChain | null;
  rules: NftRule[];
}

/** nft type names kpx uses in set and map declarations. */
export type NftType = 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service' | 'mark';

export interface NftElement {
  key: NftValue;
  /** Only in maps: the data (or verdict for verdict maps). */
  value?: NftValue | NftVerdict;
}

/** A named set, or a named map when `data` is not null. */
export interface NftSet {
  name: string;
  /** One type, or several for a concatenation. */
  key: NftType[];
  data: NftType | 'verdict' | null;
  flags: Array<'interval' | 'dynamic' | 'timeout'>;
  /** Default element timeout in seconds (unset for the affinity set: its entries carry theirs). */
  timeout?: number;
  /** Most elements the kernel keeps (dynamic sets: nft's default is 65535). */
  size?: number;
  comment?: string;
  /** Sorted: rendering never reorders, so equal rulesets render byte-identically. */
  elements: NftElement[];
}

export interface NftRuleset {
  family: NftFamily;
  table: string;
  comment: string;
  /** Sets and maps, sorted by name. */
  sets: NftSet[];
  /** Base chains first (by hook, then priority), then regular chains by name. */
  chains: NftChain[];
}

export function isVerdict(value: NftValue | NftVerdict): value is NftVerdict {
  return typeof value === 'object' && 'kind' in value;
}
