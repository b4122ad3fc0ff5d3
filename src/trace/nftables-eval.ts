/**
 * Expression evaluation for the nftables tracer: packet fields, fib, ct and numgen values
 * (numgen yields every index with its probability), and matching against set elements.
 */
import type { NftAtom, NftExpr, NftSet, NftValue } from '../backend/nftables/model.js';
import { cidrContains, parseIP } from '../model/ip.js';
import type { L4Protocol } from '../compile/intent.js';

export interface FlowState {
  saddr: string;
  daddr: string;
  dport: number;
  proto: L4Protocol;
  mark: number;
  dnat: { ip: string; port: number } | null;
  /** The destination before any DNAT: what `ct original` reads. */
  original: { daddr: string; dport: number };
  masquerade: boolean;
  probability: number;
  path: string[];
}

/** An evaluated expression: the atoms of a (possibly concatenated) value, with its odds. */
export interface Evaluated {
  atoms: Array<string | number>;
  probability: number;
}

export class TraceError extends Error {}

export function evalExpr(e: NftExpr, state: FlowState, localAddresses: ReadonlySet<string>): Evaluated[] {
  switch (e.kind) {
    case 'field': {
      const value = e.field === 'l4proto' ? state.proto : e.field === 'dport' ? state.dport : state[e.field];
      return [{ atoms: [value], probability: 1 }];
    }
    case 'mark':
      return [{ atoms: [e.mask === undefined ? state.mark : state.mark & e.mask], probability: 1 }];
    case 'numgen':
      if (!Number.isInteger(e.mod) || e.mod < 1) throw new TraceError(`numgen modulus ${e.mod}`);
      return Array.from({ length: e.mod }, (_, i) => ({ atoms: [i], probability: 1 / e.mod }));
    case 'fib-type': {
      const addr = e.of === 'saddr' ? state.saddr : state.daddr;
      return [{ atoms: [localAddresses.has(addr) ? 'local' : 'unicast'], probability: 1 }];
    }
    case 'ct-state':
      return [{ atoms: ['new'], probability: 1 }];
    case 'ct-status':
      return [{ atoms: [state.dnat ? 'dnat' : 'none'], probability: 1 }];
    case 'ct-original':
      return [{ atoms: [e.field === 'daddr' ? state.original.daddr : state.original.dport], probability: 1 }];
    case 'pinned':
      return [{ atoms: [e.value], probability: 1 }];
    case 'concat': {
      let acc: Evaluated[] = [{ atoms: [], probability: 1 }];
      for (const part of e.parts) {
        const values = evalExpr(part, state, localAddresses);
        acc = acc.flatMap((a) =>
          values.map((v) => ({ atoms: [...a.atoms, ...v.atoms], probability: a.probability * v.probability })),
        );
      }
      return acc;
    }
    default:
      throw new TraceError(`unknown expression ${JSON.stringify(e)}`);
  }
}

function canonical(text: string): string {
  return parseIP(text)?.ip ?? text;
}

function atomMatches(pattern: NftAtom, actual: string | number): boolean {
  if (typeof pattern === 'object') {
    return typeof actual === 'string' && cidrContains(`${canonical(pattern.prefix)}/${pattern.len}`, canonical(actual));
  }
  if (typeof pattern === 'number' || typeof actual === 'number') return Number(pattern) === Number(actual);
  return canonical(pattern) === canonical(actual);
}

export function valueMatches(pattern: NftValue, actual: Evaluated): boolean {
  const atoms = typeof pattern === 'object' && 'concat' in pattern ? pattern.concat : [pattern];
  if (atoms.length !== actual.atoms.length) return false;
  return atoms.every((a, i) => atomMatches(a, actual.atoms[i] as string | number));
}

/**
 * The element of `set` matching `actual`, if any. Dynamic sets (affinity) are empty: the
 * trace is of a client with no history.
 */
export function findElement(set: NftSet, actual: Evaluated): NftSet['elements'][number] | undefined {
  if (set.flags.includes('dynamic')) return undefined;
  return set.elements.find((el) => valueMatches(el.key, actual));
}
