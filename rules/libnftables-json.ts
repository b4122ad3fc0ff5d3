/**
 * The subset of libnftables-json(5) (nft 1.0.6, JSON schema version 1) that kpx writes,
 * as TypeScript types. Source: doc/libnftables-json.adoc in the netfilter nftables
 * repository; details checked against `nft -j list ruleset` output. See rules/README.md.
 * `libnftables-json.schema.json` describes the same subset for validation.
 */

export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** `{ "nftables": [ … ] }`: commands run in order, as one transaction. */
export interface NftablesDocument {
  nftables: Array<MetainfoObject | Command>;
}

export interface MetainfoObject {
  metainfo: { version?: string; release_name?: string; json_schema_version: number };
}

export type Command = { add: AddObject } | { flush: AddObject } | { delete: AddObject };

export type AddObject =
  | { table: TableObject }
  | { chain: ChainObject }
  | { set: SetObject }
  | { map: MapObject }
  | { element: ElementObject }
  | { rule: RuleObject };

export interface TableObject {
  family: Family;
  name: string;
  comment?: string;
}

export type ChainType = 'filter' | 'nat' | 'route';
export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';

export interface ChainObject {
  family: Family;
  table: string;
  name: string;
  /** Base chains only: type, hook, prio (numeric) and policy go together. */
  type?: ChainType;
  hook?: ChainHook;
  prio?: number;
  policy?: 'accept' | 'drop';
  comment?: string;
}

/** A data type name (`ipv4_addr`, `inet_service`, …), or several for a concatenation. */
export type SetType = string | string[];

/** nft 1.0.6 rejects `dynamic` here (later releases accept it); see rules/README.md. */
export type SetFlag = 'constant' | 'interval' | 'timeout';

export interface SetObject {
  family: Family;
  table: string;
  name: string;
  type: SetType;
  flags?: SetFlag[];
  /** Seconds. */
  timeout?: number;
  /** Most elements the set holds. */
  size?: number;
  comment?: string;
  elem?: Expression[];
}

/**
 * A map. nft 1.0.6 parses `map` with `{s:s}`: one data type name only; a concatenated
 * data type (an array) silently creates a plain set (fixed in later releases).
 */
export interface MapObject extends Omit<SetObject, 'elem'> {
  map: string;
  elem?: Array<[Expression, Expression | Verdict]>;
}

export interface ElementObject {
  family: Family;
  table: string;
  /** The set or map name. */
  name: string;
  elem: Array<Expression | [Expression, Expression | Verdict]>;
}

export interface RuleObject {
  family: Family;
  table: string;
  chain: string;
  expr: Statement[];
  comment?: string;
}

// Expressions

export type Immediate = string | number | boolean;
export interface ConcatExpression {
  concat: Expression[];
}
export interface PrefixExpression {
  prefix: { addr: string; len: number };
}
export interface PayloadExpression {
  payload: { protocol: 'ip' | 'ip6' | 'th' | 'tcp' | 'udp' | 'sctp'; field: string };
}
export interface MetaExpression {
  meta: { key: 'l4proto' | 'mark' | 'iifname' | 'oifname' | 'nfproto' };
}
export interface NumgenExpression {
  numgen: { mode: 'random' | 'inc'; mod: number; offset?: number };
}
export interface FibExpression {
  fib: { result: 'type' | 'oif' | 'oifname'; flags: Array<'saddr' | 'daddr' | 'mark' | 'iif' | 'oif'> };
}
export interface CtExpression {
  /** nft 1.0.6 reads a ct address as `ip daddr` / `ip6 daddr`; its `family` member is ignored. */
  ct: { key: 'state' | 'status' | 'mark' | 'ip daddr' | 'ip6 daddr' | 'proto-dst'; dir?: 'original' | 'reply' };
}
export type BinaryOperator = '&' | '|' | '^' | '<<' | '>>';
export type BinaryExpression = { [op in BinaryOperator]?: [Expression, Expression] };
/** An anonymous set: elements, or `[key, value]` pairs for an anonymous map. */
export interface AnonymousSetExpression {
  set: Array<Expression | [Expression, Expression | Verdict]>;
}
/** `key map data`: data is an anonymous set or `"@name"`. */
export interface MapExpression {
  map: { key: Expression; data: Expression };
}

/** A set element with its own timeout in seconds (libnftables-json(5) ELEM). */
export interface ElemExpression {
  elem: { val: Expression; timeout?: number };
}

export type Expression =
  | ElemExpression
  | Immediate
  | ConcatExpression
  | PrefixExpression
  | PayloadExpression
  | MetaExpression
  | NumgenExpression
  | FibExpression
  | CtExpression
  | BinaryExpression
  | AnonymousSetExpression
  | MapExpression;

// Statements

export type Verdict =
  | { accept: null }
  | { drop: null }
  | { continue: null }
  | { return: null }
  | { jump: { target: string } }
  | { goto: { target: string } };

export interface MatchStatement {
  match: { op: '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in'; left: Expression; right: Expression };
}
export interface VerdictMapStatement {
  vmap: { key: Expression; data: Expression };
}
export interface MangleStatement {
  mangle: { key: Expression; value: Expression };
}
export interface NatStatementBody {
  family?: 'ip' | 'ip6';
  addr?: Expression;
  port?: Expression;
  flags?: string | string[];
}
export interface DnatStatement {
  dnat: NatStatementBody;
}
export interface MasqueradeStatement {
  masquerade: null | { port?: Expression; flags?: string | string[] };
}
export interface RejectStatement {
  reject: null | { type?: 'tcp reset' | 'icmpx' | 'icmp' | 'icmpv6'; expr?: string };
}
/** Dynamic set update from the packet path (`update @set { key }`). */
export interface SetStatement {
  set: { op: 'add' | 'update'; elem: Expression; set: string };
}
export interface CounterStatement {
  counter: null | { packets: number; bytes: number };
}

export type Statement =
  | Verdict
  | MatchStatement
  | VerdictMapStatement
  | MangleStatement
  | DnatStatement
  | MasqueradeStatement
  | RejectStatement
  | SetStatement
  | CounterStatement;
