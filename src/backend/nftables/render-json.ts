/**
 * libnftables JSON (`nft -j -f`) for an NftRuleset: the same commands as the text form,
 * in the same order, typed by the vendored schema in rules/.
 */
import type * as J from '../../../rules/libnftables-json.js';
import type {
  NftAtom,
  NftElement,
  NftExpr,
  NftFamily,
  NftNatSource,
  NftRuleset,
  NftSet,
  NftStatement,
  NftValue,
  NftVerdict,
} from './model.js';
import { isVerdict } from './model.js';
import { pinMask } from './render-text.js';

function exprJson(family: NftFamily, e: NftExpr): J.Expression {
  switch (e.kind) {
    case 'field':
      if (e.field === 'l4proto') return { meta: { key: 'l4proto' } };
      if (e.field === 'dport') return { payload: { protocol: 'th', field: 'dport' } };
      return { payload: { protocol: family, field: e.field } };
    case 'mark':
      return e.mask === undefined ? { meta: { key: 'mark' } } : { '&': [{ meta: { key: 'mark' } }, e.mask] };
    case 'numgen':
      return { numgen: { mode: 'random', mod: e.mod, offset: 0 } };
    case 'fib-type':
      return { fib: { result: 'type', flags: [e.of] } };
    case 'ct-state':
      return { ct: { key: 'state' } };
    case 'ct-status':
      return { ct: { key: 'status' } };
    case 'ct-original':
      // nft 1.0.6 ignores a "family" member: key "daddr" with "family": "ip" is refused
      // ("specify either ip or ip6"); the key "ip daddr", which it lists, is parsed.
      return { ct: { key: e.field === 'daddr' ? `${family} daddr` : 'proto-dst', dir: 'original' } };
    case 'pinned': {
      const field: J.Expression = e.field === 'mark' ? { meta: { key: 'mark' } } : exprJson(family, { kind: 'field', field: e.field });
      return { '^': [{ '&': [field, pinMask(family, e.field)] }, e.value] };
    }
    case 'concat':
      return { concat: e.parts.map((p) => exprJson(family, p)) };
  }
}

function atomJson(a: NftAtom): J.Expression {
  return typeof a === 'object' ? { prefix: { addr: a.prefix, len: a.len } } : a;
}

function valueJson(v: NftValue): J.Expression {
  return typeof v === 'object' && 'concat' in v ? { concat: v.concat.map(atomJson) } : atomJson(v);
}

function verdictJson(v: NftVerdict): J.Verdict {
  switch (v.kind) {
    case 'accept':
      return { accept: null };
    case 'drop':
      return { drop: null };
    case 'return':
      return { return: null };
    case 'jump':
      return { jump: { target: v.target } };
    case 'goto':
      return { goto: { target: v.target } };
  }
}

function natSourceJson(family: NftFamily, s: NftNatSource): J.Expression {
  return 'map' in s ? { map: { key: exprJson(family, s.key), data: `@${s.map}` } } : atomJson(s.value);
}

/** Flag-typed selectors (ct state/status) compare with `in`, as nft itself prints them. */
function matchOp(left: NftExpr, op: '==' | '!='): '==' | '!=' | 'in' {
  return op === '==' && (left.kind === 'ct-state' || left.kind === 'ct-status') ? 'in' : op;
}

function statementJson(family: NftFamily, s: NftStatement): J.Statement {
  switch (s.kind) {
    case 'match': {
      const right = Array.isArray(s.right) ? { set: s.right.map(valueJson) } : valueJson(s.right);
      return { match: { op: matchOp(s.left, s.op), left: exprJson(family, s.left), right } };
    }
    case 'lookup':
      return { match: { op: s.negate ? '!=' : '==', left: exprJson(family, s.left), right: `@${s.set}` } };
    case 'vmap': {
      const data: J.Expression = Array.isArray(s.map)
        ? { set: s.map.map(([k, v]): [J.Expression, J.Verdict] => [valueJson(k), verdictJson(v)]) }
        : `@${s.map}`;
      return { vmap: { key: exprJson(family, s.key), data } };
    }
    case 'verdict':
      return verdictJson(s.verdict);
    case 'mark-set': {
      const op = s.op === 'or' ? '|' : '^';
      return { mangle: { key: { meta: { key: 'mark' } }, value: { [op]: [{ meta: { key: 'mark' } }, s.value] } } };
    }
    case 'dnat':
      return { dnat: { family, addr: natSourceJson(family, s.addr), port: natSourceJson(family, s.port) } };
    case 'masquerade':
      return { masquerade: s.fullyRandom ? { flags: 'fully-random' } : null };
    case 'reject':
      return { reject: { type: family === 'ip' ? 'icmp' : 'icmpv6', expr: 'port-unreachable' } };
    case 'set-update':
      return {
        set: {
          op: 'update',
          elem: s.timeout === undefined ? exprJson(family, s.key) : { elem: { val: exprJson(family, s.key), timeout: s.timeout } },
          set: `@${s.set}`,
        },
      };
  }
}

function elementJson(e: NftElement): J.Expression | [J.Expression, J.Expression | J.Verdict] {
  if (e.value === undefined) return valueJson(e.key);
  return [valueJson(e.key), isVerdict(e.value) ? verdictJson(e.value) : valueJson(e.value)];
}

function setJson(family: NftFamily, table: string, s: NftSet): J.AddObject {
  const body: Omit<J.SetObject, 'elem'> = {
    family,
    table,
    name: s.name,
    type: s.key.length === 1 ? (s.key[0] as string) : [...s.key],
  };
  // nft 1.0.6's JSON parser knows no `dynamic` flag ("Invalid set flag"); the kernel set
  // still gets it, because nft adds it to any set an `update` statement writes to.
  const flags: J.SetFlag[] = [];
  for (const f of s.flags) if (f !== 'dynamic') flags.push(f);
  if (flags.length > 0) body.flags = flags;
  if (s.timeout !== undefined) body.timeout = s.timeout;
  if (s.size !== undefined) body.size = s.size;
  if (s.comment !== undefined) body.comment = s.comment;
  return s.data === null ? { set: body } : { map: { ...body, map: s.data } satisfies J.MapObject };
}

export function rulesetCommands(ruleset: NftRuleset): J.Command[] {
  const { family, table } = ruleset;
  const commands: J.Command[] = [{ add: { table: { family, name: table, comment: ruleset.comment } } }];
  for (const c of ruleset.chains) {
    const chain: J.ChainObject = { family, table, name: c.name };
    if (c.base) Object.assign(chain, { type: c.base.type, hook: c.base.hook, prio: c.base.priority, policy: 'accept' });
    commands.push({ add: { chain } });
  }
  for (const s of ruleset.sets) commands.push({ add: setJson(family, table, s) });
  for (const s of ruleset.sets) {
    if (s.elements.length > 0) commands.push({ add: { element: { family, table, name: s.name, elem: s.elements.map(elementJson) } } });
  }
  for (const c of ruleset.chains) {
    for (const r of c.rules) {
      commands.push({ add: { rule: { family, table, chain: c.name, expr: r.statements.map((s) => statementJson(family, s)) } } });
    }
  }
  return commands;
}

export function renderNftJson(ruleset: NftRuleset): string {
  const doc: J.NftablesDocument = { nftables: [{ metainfo: { json_schema_version: 1 } }, ...rulesetCommands(ruleset)] };
  return `${JSON.stringify(doc)}\n`;
}
