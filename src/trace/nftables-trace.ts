/**
 * Walks an NftRuleset the way the kernel would for the first packet of a new flow:
 * base chains per hook in priority order (prerouting → input|forward → postrouting for
 * arriving packets; output → postrouting → input for the node's own), verdict maps,
 * numgen branches (each with its probability), set lookups, fib local, DNAT and
 * masquerade. Any rule shape it does not model is an error, never a silent pass.
 */
import type { NftChain, NftRuleset, NftStatement, NftVerdict } from '../backend/nftables/model.js';
import { isVerdict } from '../backend/nftables/model.js';
import { ruleText } from '../backend/nftables/render-text.js';
import { compareStrings } from '../compile/order.js';
import { joinHostPort, parseIP } from '../model/ip.js';
import { evalExpr, findElement, TraceError, valueMatches, type FlowState } from './nftables-eval.js';
import type { FinalVerdict, Packet, TraceNode, TraceOutcome, TraceResult } from './types.js';

type End = 'return' | 'accept' | 'drop' | 'reject';
/** How a rule left control: fall through to the next rule, or an end of the chain. */
type Flow = 'next' | End;
interface Branch<T> {
  state: FlowState;
  flow: T;
}

const MAX_DEPTH = 64;
const HOOK_ORDER = { prerouting: 0, input: 1, forward: 1, output: 0, postrouting: 2 } as const;

class Walker {
  private readonly chains = new Map<string, NftChain>();
  private readonly sets;

  constructor(
    private readonly ruleset: NftRuleset,
    private readonly local: ReadonlySet<string>,
  ) {
    for (const c of ruleset.chains) this.chains.set(c.name, c);
    this.sets = new Map(ruleset.sets.map((s) => [s.name, s]));
  }

  private set(name: string) {
    const set = this.sets.get(name);
    if (!set) throw new TraceError(`reference to unknown set @${name}`);
    return set;
  }

  runHook(hook: keyof typeof HOOK_ORDER, state: FlowState): Array<Branch<End>> {
    const bases = this.ruleset.chains
      .filter((c) => c.base?.hook === hook)
      .sort((a, b) => (a.base?.priority ?? 0) - (b.base?.priority ?? 0));
    let branches: Array<Branch<End>> = [{ state, flow: 'accept' }];
    for (const chain of bases) {
      branches = branches.flatMap((b) =>
        b.flow === 'drop' || b.flow === 'reject'
          ? [b]
          : this.runChain(chain, 0, b.state, 0).map((r) => ({ state: r.state, flow: r.flow === 'return' ? 'accept' : r.flow })),
      );
    }
    return branches;
  }

  private runChain(chain: NftChain, index: number, state: FlowState, depth: number): Array<Branch<End>> {
    if (depth > MAX_DEPTH) throw new TraceError(`chain nesting deeper than ${MAX_DEPTH} at ${chain.name}`);
    const rule = chain.rules[index];
    if (!rule) return [{ state, flow: 'return' }];
    const text = `${this.ruleset.table}/${chain.name}: ${ruleText(this.ruleset.family, rule)}`;
    return this.runStatements(rule.statements, 0, state, depth, text, false).flatMap((b) =>
      b.flow === 'next' ? this.runChain(chain, index + 1, b.state, depth) : [{ state: b.state, flow: b.flow }],
    );
  }

  /** `text` is recorded in the path once the rule fires (reaches its first action). */
  private runStatements(
    statements: readonly NftStatement[],
    i: number,
    state: FlowState,
    depth: number,
    text: string,
    fired: boolean,
  ): Array<Branch<Flow>> {
    const s = statements[i];
    if (!s) return [{ state, flow: 'next' }];
    const fire = (st: FlowState): FlowState => (fired ? st : { ...st, path: [...st.path, text] });
    const next = (st: FlowState, isAction: boolean) =>
      this.runStatements(statements, i + 1, isAction ? fire(st) : st, depth, text, fired || isAction);
    const weighted = (st: FlowState, p: number): FlowState => ({ ...st, probability: st.probability * p });
    const rest = (st: FlowState) => this.runStatements(statements, i + 1, st, depth, text, true);

    switch (s.kind) {
      case 'match':
      case 'lookup':
        return evalExpr(s.left, state, this.local).flatMap((v) => {
          const st = weighted(state, v.probability);
          let hit: boolean;
          if (s.kind === 'lookup') hit = findElement(this.set(s.set), v) !== undefined;
          else hit = (Array.isArray(s.right) ? s.right : [s.right]).some((r) => valueMatches(r, v));
          const negate = s.kind === 'lookup' ? s.negate : s.op === '!=';
          return hit !== negate ? next(st, false) : [{ state: st, flow: 'next' as const }];
        });
      case 'vmap':
        return evalExpr(s.key, state, this.local).flatMap((v) => {
          const st = weighted(state, v.probability);
          let verdict: NftVerdict | undefined;
          if (Array.isArray(s.map)) verdict = s.map.find(([k]) => valueMatches(k, v))?.[1];
          else {
            const value = findElement(this.set(s.map), v)?.value;
            if (value !== undefined && !isVerdict(value)) throw new TraceError(`@${s.map} is not a verdict map`);
            verdict = value;
          }
          return verdict ? this.applyVerdict(verdict, fire(st), depth, rest) : [{ state: st, flow: 'next' as const }];
        });
      case 'verdict':
        return this.applyVerdict(s.verdict, fire(state), depth, rest);
      case 'mark-set':
        return next({ ...state, mark: s.op === 'or' ? state.mark | s.value : state.mark ^ s.value }, true);
      case 'set-update':
        this.set(s.set);
        return next(state, true);
      case 'dnat': {
        const addr = this.natValue(s.addr, state);
        const port = this.natValue(s.port, state);
        if (addr === undefined || port === undefined) return [{ state, flow: 'next' }];
        const dnat = { ip: String(addr), port: Number(port) };
        return [{ state: { ...fire(state), daddr: dnat.ip, dport: dnat.port, dnat }, flow: 'accept' }];
      }
      case 'masquerade':
        return [{ state: { ...fire(state), masquerade: true }, flow: 'accept' }];
      case 'reject':
        return [{ state: fire(state), flow: 'reject' }];
      default:
        throw new TraceError(`unknown statement ${JSON.stringify(s)}`);
    }
  }

  /** A DNAT source's value; undefined when its map has no element (the rule breaks). */
  private natValue(source: Extract<NftStatement, { kind: 'dnat' }>['addr'], state: FlowState) {
    if ('value' in source) return typeof source.value === 'object' ? undefined : source.value;
    const [key, ...more] = evalExpr(source.key, state, this.local);
    if (!key || more.length > 0) throw new TraceError('a DNAT map key must have one value');
    const value = findElement(this.set(source.map), key)?.value;
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') throw new TraceError(`@${source.map}: unsupported data`);
    return value;
  }

  private applyVerdict(
    verdict: NftVerdict,
    state: FlowState,
    depth: number,
    continueRule: (state: FlowState) => Array<Branch<Flow>>,
  ): Array<Branch<Flow>> {
    switch (verdict.kind) {
      case 'accept':
      case 'drop':
      case 'return':
        return [{ state, flow: verdict.kind }];
      case 'jump':
      case 'goto': {
        const target = this.chains.get(verdict.target);
        if (!target || target.base) throw new TraceError(`${verdict.kind} to unknown chain ${verdict.target}`);
        return this.runChain(target, 0, state, depth + 1).flatMap((r): Array<Branch<Flow>> => {
          if (r.flow !== 'return') return [r];
          return verdict.kind === 'goto' ? [{ state: r.state, flow: 'return' }] : continueRule(r.state);
        });
      }
    }
  }
}

function toOutcome(b: Branch<End>): TraceOutcome {
  const verdict: FinalVerdict =
    b.flow === 'drop' ? 'DROP' : b.flow === 'reject' ? 'REJECT' : b.state.dnat ? 'DNAT' : 'ACCEPT';
  const dnat = verdict === 'DNAT' ? b.state.dnat : null;
  return {
    probability: b.state.probability,
    verdict,
    endpoint: dnat ? joinHostPort(dnat.ip, dnat.port) : null,
    masquerade: verdict !== 'DROP' && verdict !== 'REJECT' && b.state.masquerade,
    path: b.state.path,
  };
}

function mergeOutcomes(outcomes: TraceOutcome[]): TraceOutcome[] {
  const merged = new Map<string, TraceOutcome>();
  for (const o of outcomes) {
    const key = `${o.verdict}|${o.endpoint}|${o.masquerade}`;
    const seen = merged.get(key);
    if (seen) seen.probability += o.probability;
    else merged.set(key, { ...o });
  }
  return [...merged.values()].sort(
    (a, b) => compareStrings(a.endpoint ?? '', b.endpoint ?? '') || compareStrings(a.verdict, b.verdict) || Number(a.masquerade) - Number(b.masquerade),
  );
}

export function traceNftables(ruleset: NftRuleset, packet: Packet, node: TraceNode): TraceResult | { error: string } {
  const src = parseIP(packet.src)?.ip;
  const dst = parseIP(packet.dst)?.ip;
  if (!src || !dst) return { error: `not an IP address: ${!src ? packet.src : packet.dst}` };
  const local = new Set(node.localAddresses.map((a) => parseIP(a)?.ip ?? a));
  const walker = new Walker(ruleset, local);
  const start: FlowState = {
    saddr: src,
    daddr: dst,
    dport: packet.dport,
    proto: packet.protocol,
    mark: 0,
    dnat: null,
    original: { daddr: dst, dport: packet.dport },
    masquerade: false,
    probability: 1,
    path: [],
  };
  try {
    const then = (branches: Array<Branch<End>>, hook: keyof typeof HOOK_ORDER | ((s: FlowState) => keyof typeof HOOK_ORDER | null)) =>
      branches.flatMap((b) => {
        if (b.flow === 'drop' || b.flow === 'reject') return [b];
        const h = typeof hook === 'function' ? hook(b.state) : hook;
        return h ? walker.runHook(h, b.state) : [b];
      });
    const routed = (s: FlowState) => (local.has(s.daddr) ? 'input' : 'forward');
    let branches: Array<Branch<End>>;
    if (local.has(src)) {
      branches = then(then(walker.runHook('output', start), 'postrouting'), (s) => (local.has(s.daddr) ? 'input' : null));
    } else {
      branches = then(walker.runHook('prerouting', start), routed);
      branches = then(branches, (s) => (routed(s) === 'forward' ? 'postrouting' : null));
    }
    return { packet, outcomes: mergeOutcomes(branches.map(toOutcome)) };
  } catch (err) {
    if (err instanceof TraceError) return { error: err.message };
    throw err;
  }
}
