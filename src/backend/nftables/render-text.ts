/**
 * `nft -f` input for an NftRuleset: flat `add` commands (table, chains, sets and maps,
 * elements one per line, then rules), which load into an empty namespace and diff line by
 * line. Rules are added after every chain and set exists, so any reference resolves.
 */
import type {
  NftAtom,
  NftChain,
  NftExpr,
  NftFamily,
  NftNatSource,
  NftRule,
  NftRuleset,
  NftSet,
  NftStatement,
  NftValue,
  NftVerdict,
} from './model.js';
import { isVerdict } from './model.js';

/** nft 1.0.6 accepts `dstnat` only in nat prerouting and `srcnat` only in nat postrouting. */
const PRIORITY_NAMES: Record<string, string> = {
  'nat prerouting -100': 'dstnat',
  'nat postrouting 100': 'srcnat',
};

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The all-zero mask of a `pinned` field. */
export function pinMask(family: NftFamily, field: 'daddr' | 'dport' | 'mark'): string | number {
  if (field !== 'daddr') return 0;
  return family === 'ip' ? '0.0.0.0' : '::';
}

/**
 * The fixed text of each field and of a pinned field's mask, made once: a 10k-service
 * table's ~5k affinity rules print ~60k of them.
 */
function fieldTexts(family: NftFamily) {
  const field = { saddr: `${family} saddr`, daddr: `${family} daddr`, l4proto: 'meta l4proto', dport: 'th dport' };
  const pinned = {
    daddr: `${field.daddr} & ${pinMask(family, 'daddr')} ^ `,
    dport: `${field.dport} & ${pinMask(family, 'dport')} ^ `,
    mark: `meta mark & ${hex(0)} ^ `,
  };
  return { field, pinned };
}

const FIELD_TEXTS = { ip: fieldTexts('ip'), ip6: fieldTexts('ip6') };

export function exprText(family: NftFamily, e: NftExpr): string {
  switch (e.kind) {
    case 'field':
      return FIELD_TEXTS[family].field[e.field];
    case 'mark':
      return e.mask === undefined ? 'meta mark' : `meta mark & ${hex(e.mask)}`;
    case 'numgen':
      return `numgen random mod ${e.mod}`;
    case 'fib-type':
      return `fib ${e.of} type`;
    case 'ct-state':
      return 'ct state';
    case 'ct-status':
      return 'ct status';
    case 'ct-original':
      return e.field === 'daddr' ? `ct original ${family} daddr` : 'ct original proto-dst';
    case 'pinned':
      return FIELD_TEXTS[family].pinned[e.field] + (e.field === 'mark' ? hex(Number(e.value)) : String(e.value));
    case 'concat':
      return e.parts.map((p) => exprText(family, p)).join(' . ');
  }
}

function atomText(a: NftAtom): string {
  if (typeof a === 'string') return a;
  return typeof a === 'object' ? `${a.prefix}/${a.len}` : String(a);
}

/**
 * A value as nft prints it, as one flat string: the table state keeps element keys made
 * here (build.ts), and a `+=` rope would keep its pieces for as long as it holds them.
 * It is also an element key's identity in its set: every position of a key has one
 * declared type, so two keys are equal exactly when their text is.
 */
export function valueText(v: NftValue): string {
  if (typeof v !== 'object' || !('concat' in v)) return atomText(v);
  // join() prints numbers and strings as atomText does; only prefixes need formatting.
  return v.concat.some((a) => typeof a === 'object') ? v.concat.map(atomText).join(' . ') : v.concat.join(' . ');
}

export function verdictText(v: NftVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.target}` : v.kind;
}

/** A map element's data (or verdict) as nft prints it. */
export function dataText(v: NftValue | NftVerdict): string {
  return isVerdict(v) ? verdictText(v) : valueText(v);
}

function natSourceText(family: NftFamily, s: NftNatSource, isAddr: boolean): string {
  if ('map' in s) return `${exprText(family, s.key)} map @${s.map}`;
  return isAddr && family === 'ip6' ? `[${atomText(s.value)}]` : atomText(s.value);
}

function statementText(family: NftFamily, s: NftStatement): string {
  switch (s.kind) {
    case 'match': {
      const right = Array.isArray(s.right) ? `{ ${s.right.map(valueText).join(', ')} }` : valueText(s.right);
      // nft's implicit operator is a flag test for bitmask types (ct state/status); a
      // masked mark needs the explicit `==`.
      const op = s.op === '!=' ? '!= ' : s.left.kind === 'mark' ? '== ' : '';
      return `${exprText(family, s.left)} ${op}${right}`;
    }
    case 'lookup':
      return `${exprText(family, s.left)} ${s.negate ? '!= ' : ''}@${s.set}`;
    case 'vmap': {
      const map = Array.isArray(s.map)
        ? `{ ${s.map.map(([k, v]) => `${valueText(k)} : ${verdictText(v)}`).join(', ')} }`
        : `@${s.map}`;
      return `${exprText(family, s.key)} vmap ${map}`;
    }
    case 'verdict':
      return verdictText(s.verdict);
    case 'mark-set':
      return `meta mark set meta mark ${s.op === 'or' ? '|' : '^'} ${hex(s.value)}`;
    case 'dnat': {
      const addr = natSourceText(family, s.addr, true);
      const port = natSourceText(family, s.port, false);
      return 'map' in s.addr || 'map' in s.port ? `dnat ${family} to ${addr} : ${port}` : `dnat to ${addr}:${port}`;
    }
    case 'masquerade':
      return s.fullyRandom ? 'masquerade fully-random' : 'masquerade';
    case 'reject':
      return 'reject';
    case 'set-update':
      return `update @${s.set} { ${exprText(family, s.key)}${s.timeout === undefined ? '' : ` timeout ${s.timeout}s`} }`;
  }
}

/** One rule as nft prints it (also the tracer's path text). */
export function ruleText(family: NftFamily, r: NftRule): string {
  return r.statements.map((s) => statementText(family, s)).join(' ');
}

/** `add set|map <prefix> <name> { type … }`; `prefix` is `<family> <table>`. */
export function setDeclaration(prefix: string, s: Omit<NftSet, 'elements'>): string {
  const type = s.key.join(' . ') + (s.data === null ? '' : ` : ${s.data}`);
  const parts = [`type ${type} ;`];
  if (s.flags.length > 0) parts.push(`flags ${s.flags.join(',')} ;`);
  if (s.timeout !== undefined) parts.push(`timeout ${s.timeout}s ;`);
  if (s.size !== undefined) parts.push(`size ${s.size} ;`);
  if (s.comment !== undefined) parts.push(`comment ${JSON.stringify(s.comment)} ;`);
  return `add ${s.data === null ? 'set' : 'map'} ${prefix} ${s.name} { ${parts.join(' ')} }`;
}

/** `add chain <prefix> <name>`, with hook, priority and policy for a base chain. */
export function chainDeclaration(prefix: string, c: Pick<NftChain, 'name' | 'base'>): string {
  if (c.base === null) return `add chain ${prefix} ${c.name}`;
  const priority = PRIORITY_NAMES[`${c.base.type} ${c.base.hook} ${c.base.priority}`] ?? String(c.base.priority);
  return `add chain ${prefix} ${c.name} { type ${c.base.type} hook ${c.base.hook} priority ${priority} ; policy accept ; }`;
}

/**
 * What renderNftChunks prints: a table whose elements come as text, so the daemon's table
 * state (which keeps elements as text) and a lowered NftRuleset print through one path.
 */
export interface NftTableText {
  family: NftFamily;
  table: string;
  comment: string;
  chains: readonly NftChain[];
  sets: ReadonlyArray<Omit<NftSet, 'elements'>>;
  /** Every element as `add element` commands, through `batcher`; sets may come in any order. */
  elementCommands(batcher: ElementBatcher): Iterable<string>;
}

/**
 * Elements per `add element` command. Each command's text is built by appending to one
 * string and lives only until it is written: one string for a whole set (~100k elements
 * at 10k services, 430k at 44k) sat in V8's large-object space and made the old
 * generation collect; at 44k rendering took 1.7 s instead of 0.65 s, and 150 MB more heap.
 * A full batch interleaves the maps' commands, so a dozen unfinished ones are alive at once
 * and every young-generation GC copies them: 2,048 per command cost a cold 10k render ~45 ms
 * of GC, 512 ~15 ms, and nft 1.0.6 loads both in the same time (2.07 vs 2.09 s, medians of
 * six interleaved loads). One command per element would cost nft ~6 µs each (10k cold load
 * 3.0 -> 5.0 s).
 */
const ELEMENTS_PER_COMMAND = 512;

interface PendingCommand {
  text: string;
  count: number;
}

/** Collects elements into `add element` commands of up to ELEMENTS_PER_COMMAND, per set. */
export class ElementBatcher {
  private readonly pending = new Map<string, PendingCommand>();

  constructor(private readonly prefix: string) {}

  /**
   * Adds one element, `key` or (in a map) `key : data`; returns a command once its set has a
   * full one. Appended piece by piece: no intermediate string per element.
   */
  add(set: string, key: string, data = ''): string | null {
    let batch = this.pending.get(set);
    if (!batch) this.pending.set(set, (batch = { text: '', count: 0 }));
    let text = batch.count === 0 ? `add element ${this.prefix} ${set} {\n\t` : `${batch.text},\n\t`;
    text += key;
    if (data !== '') {
      text += ' : ';
      text += data;
    }
    batch.text = text;
    return ++batch.count < ELEMENTS_PER_COMMAND ? null : take(batch);
  }

  /** The unfinished command of `set`, if any. */
  finish(set: string): string | null {
    const batch = this.pending.get(set);
    return batch && batch.count > 0 ? take(batch) : null;
  }

  /** The unfinished commands of every set. */
  *rest(): Generator<string> {
    for (const set of this.pending.keys()) {
      const command = this.finish(set);
      if (command !== null) yield command;
    }
  }
}

function take(batch: PendingCommand): string {
  const command = `${batch.text}\n}\n`;
  batch.text = '';
  batch.count = 0;
  return command;
}

/** Lines per chunk of the rules and declarations: big enough to amortise a pipe write. */
const LINES_PER_CHUNK = 512;

/**
 * A table's `nft -f` text in pieces, each ending in a newline: the daemon writes a full
 * batch to nft piece by piece, so the text of a whole table (10 MB at 10k services) never
 * exists at once. (It saves memory only: nft 1.0.6 starts its work once it has read all of
 * its input.)
 */
export function* renderNftChunks(table: NftTableText): Generator<string> {
  const prefix = `${table.family} ${table.table}`;
  let lines: string[] = [`add table ${prefix} { comment ${JSON.stringify(table.comment)} ; }`];
  function* flushIfFull(): Generator<string> {
    if (lines.length < LINES_PER_CHUNK) return;
    yield `${lines.join('\n')}\n`;
    lines = [];
  }
  for (const c of table.chains) {
    lines.push(chainDeclaration(prefix, c));
    yield* flushIfFull();
  }
  for (const s of table.sets) {
    lines.push(setDeclaration(prefix, s));
    yield* flushIfFull();
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
  lines = [];
  yield* table.elementCommands(new ElementBatcher(prefix));
  for (const c of table.chains) {
    for (const r of c.rules) {
      lines.push(`add rule ${prefix} ${c.name} ${ruleText(table.family, r)}`);
      yield* flushIfFull();
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

/** A lowered ruleset as NftTableText. */
export function rulesetTable(ruleset: NftRuleset): NftTableText {
  function* elementCommands(batcher: ElementBatcher): Generator<string> {
    for (const s of ruleset.sets) {
      for (const e of s.elements) {
        const command = batcher.add(s.name, valueText(e.key), e.value === undefined ? '' : dataText(e.value));
        if (command !== null) yield command;
      }
      const rest = batcher.finish(s.name);
      if (rest !== null) yield rest;
    }
  }
  return { ...ruleset, elementCommands };
}

export function renderNftText(ruleset: NftRuleset): string {
  return [...renderNftChunks(rulesetTable(ruleset))].join('');
}
