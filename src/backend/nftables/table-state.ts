/**
 * The table as a sum of parts: the skeleton plus one part per service port (its elements,
 * its chains, the sets it declares), each lowered on its own and kept between syncs. The
 * state counts how many parts contribute each chain, set and set element, so a shared chain
 * (`balance-3`) or a shared element (a ClusterIP in `cluster-ips` used by two ports) stays
 * while any part still uses it. `update` re-lowers only the service ports whose intent
 * object changed and reports what it touched; plan.ts turns that into `add`/`delete`.
 *
 * Claims: a destination belongs to the first service port in intent order that wants it
 * (TableBuilder.claimable). A part is lowered against an oracle that answers "held by an
 * earlier service port"; when a changed port shares a destination with others, every port
 * wanting that destination is re-lowered too, in intent order, so the result equals a
 * lowering of the whole intent from scratch.
 */
import type { RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { assembleRuleset, elementFromText, TableBuilder, type BuilderScope, type BuiltParts, type SharedBundle } from './build.js';
import { countDown, countUp, type Counted } from './counted.js';
import { ElementIndex, type TouchedElements } from './element-index.js';
import type { NftChain, NftRuleset, NftSet } from './model.js';
import { CLAIM_MAPS, TABLE_COMMENT, TABLE_NAME } from './names.js';
import type { NftTableText } from './render-text.js';
import { diffServices, servicePortKey } from './service-diff.js';
import { lowerServicePort } from './service-port.js';
import { sizable, sizeFor, withSize } from './set-size.js';
import { addSkeleton } from './skeleton.js';

export type NftSetDecl = Omit<NftSet, 'elements'>;

interface Part {
  sp: ServicePortIntent | null;
  built: BuiltParts;
}

/** What an update touched, with the values before it (undefined: absent before). */
export interface Touched {
  elements: TouchedElements;
  chains: Map<string, NftChain | undefined>;
  sets: Map<string, NftSetDecl | undefined>;
}

const SKELETON = '';

/** Everything outside the service ports; when it changes, the table is rebuilt. */
export function globalKey(intent: RulesetIntent): string {
  const { family, masquerade, podCIDRs, nodeIPs, nodePortCIDRs, serviceCIDRs } = intent;
  return JSON.stringify({ family, masquerade, podCIDRs, nodeIPs, nodePortCIDRs, serviceCIDRs });
}

function family(intent: RulesetIntent) {
  return intent.family === 4 ? 'ip' : 'ip6';
}

export class NftTableState {
  readonly family: 'ip' | 'ip6';
  readonly globalKey: string;
  private readonly skeletonSets: ReadonlySet<string>;
  private readonly parts = new Map<string, Part>();
  /** Which elements exist and which parts contribute them (element-index.ts). */
  private readonly elements = new ElementIndex(this.parts, (set) => this.sets.get(set)?.value);
  private readonly chains = new Map<string, Counted<NftChain>>();
  private readonly sets = new Map<string, Counted<NftSetDecl>>();
  /** The declared size of each sized set (set-size.ts); the decls in `sets` have none. */
  private readonly sizes = new Map<string, number>();
  /** Parts using each shared bundle; its chains and sets are counted once while any does. */
  private readonly bundles = new Map<SharedBundle, number>();
  /**
   * Destination (key text) → the service ports that tried to claim it: nearly always one,
   * kept as its key; a Set only once a second port wants it (10k Sets cost 2 MiB).
   */
  private readonly wanters = new Map<string, string | Set<string>>();

  private constructor(public intent: RulesetIntent) {
    this.family = family(intent);
    this.globalKey = globalKey(intent);
    const skeleton = new TableBuilder(this.family);
    addSkeleton(skeleton, intent);
    const built = skeleton.parts();
    this.skeletonSets = new Set(built.decls.keys());
    this.add(SKELETON, { sp: null, built }, null);
  }

  /** The table for `intent` from scratch, service ports lowered in intent order. */
  static build(intent: RulesetIntent): NftTableState {
    const state = new NftTableState(intent);
    const scope: BuilderScope = {
      outerSets: state.skeletonSets,
      heldOutside: (key) => state.elements.holder(key) !== undefined,
    };
    for (const sp of intent.services) {
      const key = servicePortKey(sp);
      if (state.parts.has(key)) continue; // compile/ never emits one twice
      state.add(key, { sp, built: state.lowerPart(sp, intent, scope) }, null);
    }
    state.resize();
    return state;
  }

  /** Sizes every sized set afresh for its element count: the table is written whole (set-size.ts). */
  resize(): void {
    this.sizes.clear();
    for (const { value } of this.sets.values()) {
      const size = sizable(value) ? sizeFor(this.elements.count(value.name)) : undefined;
      if (size !== undefined) this.sizes.set(value.name, size);
    }
  }

  /**
   * After a partial update: a sized set that outgrew its size is declared again, larger
   * (touched, so the planner redeclares and refills it); a gone set loses its size; and the
   * touched sets' previous declarations carry the sizes they had (`before`).
   */
  private growSizes(touched: Touched, before: ReadonlyMap<string, number>): void {
    for (const name of touched.elements.keys()) {
      const size = this.sizes.get(name);
      const decl = this.sets.get(name)?.value;
      if (size === undefined || decl === undefined) continue;
      const needed = this.elements.count(name);
      if (needed <= size) continue;
      this.sizes.set(name, sizeFor(needed) ?? needed);
      if (!touched.sets.has(name)) touched.sets.set(name, decl);
    }
    for (const [name, decl] of touched.sets) {
      if (!this.sets.has(name)) this.sizes.delete(name);
      if (decl !== undefined) touched.sets.set(name, withSize(decl, before.get(name)));
    }
  }

  private lowerPart(sp: ServicePortIntent, intent: RulesetIntent, scope: BuilderScope): BuiltParts {
    const b = new TableBuilder(this.family, scope);
    lowerServicePort(b, intent, sp);
    return b.parts();
  }

  /**
   * Brings the state to `intent`, whose global parts must equal this state's
   * (`globalKey`). Re-lowers only changed, added and removed service ports (and any that
   * share a destination with them) and returns what it touched.
   */
  update(intent: RulesetIntent): Touched {
    if (globalKey(intent) !== this.globalKey) throw new Error('kpx bug: global parts changed; rebuild the table');
    const { changed, removed } = diffServices(this.intent.services, intent.services, (key) => this.parts.get(key)?.sp ?? undefined);
    const sps = new Map(changed.map((sp) => [servicePortKey(sp), sp]));
    /** The intent of a service port in the new intent; undefined when it is gone. */
    const spOf = (key: string) => sps.get(key) ?? (removed.has(key) ? undefined : (this.parts.get(key)?.sp ?? undefined));
    const redo = new Set([...sps.keys(), ...removed]);

    let positions: Map<string, number> | null = null;
    const position = (key: string) => (positions ??= new Map(intent.services.map((sp, i) => [servicePortKey(sp), i]))).get(key) ?? -1;
    let order = [...sps.keys()];
    let lowered: Map<string, BuiltParts>;
    for (;;) {
      lowered = this.lowerInOrder(intent, order, redo, spOf, position);
      const joining = this.otherWanters(redo, lowered, spOf);
      if (joining.length === 0) break;
      for (const key of joining) redo.add(key);
      order = [...redo].filter((k) => spOf(k) !== undefined).sort((a, b) => position(a) - position(b));
    }

    const redone = order.map((key) => [key, spOf(key), lowered.get(key)] as const);
    const touched: Touched = { elements: new Map(), chains: new Map(), sets: new Map() };
    const sizesBefore = new Map(this.sizes);
    for (const key of redo) {
      const old = this.parts.get(key);
      if (old) this.remove(key, old, touched);
    }
    for (const [key, sp, built] of redone) if (built && sp) this.add(key, { sp, built }, touched);
    this.growSizes(touched, sizesBefore);
    this.intent = intent;
    return touched;
  }

  /**
   * Lowers `order` (intent order) against an oracle that ignores what the ports being
   * redone held before and sees what earlier ones among them hold now.
   */
  private lowerInOrder(
    intent: RulesetIntent,
    order: readonly string[],
    redo: ReadonlySet<string>,
    spOf: (key: string) => ServicePortIntent | undefined,
    position: (key: string) => number,
  ): Map<string, BuiltParts> {
    const lowered = new Map<string, BuiltParts>();
    const heldNow = new Set<string>();
    for (const key of order) {
      const sp = spOf(key) as ServicePortIntent;
      const heldOutside = (k: string): boolean => {
        if (heldNow.has(k)) return true;
        const holder = this.elements.holder(k);
        return holder !== undefined && !redo.has(holder) && position(holder) < position(key);
      };
      const built = this.lowerPart(sp, intent, { outerSets: this.skeletonSets, heldOutside });
      lowered.set(key, built);
      const e = built.elements;
      for (let i = 0; i < e.length; i += 3) if (CLAIM_MAPS.has(e[i]!)) heldNow.add(e[i + 1]!);
    }
    return lowered;
  }

  /** Service ports outside `redo` that want a destination some port in `redo` wants (or wanted). */
  private otherWanters(
    redo: ReadonlySet<string>,
    lowered: ReadonlyMap<string, BuiltParts>,
    spOf: (key: string) => ServicePortIntent | undefined,
  ): string[] {
    const joining = new Set<string>();
    for (const key of redo) {
      const probes = [...(this.parts.get(key)?.built.probes ?? []), ...(lowered.get(key)?.probes ?? [])];
      for (const probe of probes) {
        const wanting = this.wanters.get(probe);
        for (const other of typeof wanting === 'string' ? [wanting] : (wanting ?? [])) {
          if (!redo.has(other) && spOf(other) !== undefined) joining.add(other);
        }
      }
    }
    return [...joining];
  }

  private add(key: string, part: Part, touched: Touched | null): void {
    this.parts.set(key, part);
    const { built } = part;
    this.elements.add(key, built, touched?.elements ?? null);
    for (const chain of built.chains.values()) countUp(this.chains, chain.name, chain, touched?.chains);
    for (const decl of built.decls.values()) countUp(this.sets, decl.name, decl, touched?.sets);
    for (const bundle of built.bundles) {
      const users = this.bundles.get(bundle) ?? 0;
      this.bundles.set(bundle, users + 1);
      if (users > 0) continue;
      for (const chain of bundle.chains) countUp(this.chains, chain.name, chain, touched?.chains);
      for (const decl of bundle.decls) countUp(this.sets, decl.name, decl, touched?.sets);
    }
    for (const probe of built.probes) {
      const wanting = this.wanters.get(probe);
      if (wanting === undefined || wanting === key) this.wanters.set(probe, key);
      else if (typeof wanting === 'string') this.wanters.set(probe, new Set([wanting, key]));
      else wanting.add(key);
    }
  }

  private remove(key: string, part: Part, touched: Touched): void {
    this.parts.delete(key);
    const { built } = part;
    this.elements.remove(key, built, touched.elements);
    for (const name of built.chains.keys()) countDown(this.chains, name, touched.chains);
    for (const name of built.decls.keys()) countDown(this.sets, name, touched.sets);
    for (const bundle of built.bundles) {
      const users = this.bundles.get(bundle) ?? 0;
      if (users > 1) {
        this.bundles.set(bundle, users - 1);
        continue;
      }
      this.bundles.delete(bundle);
      for (const chain of bundle.chains) countDown(this.chains, chain.name, touched.chains);
      for (const decl of bundle.decls) countDown(this.sets, decl.name, touched.sets);
    }
    for (const probe of built.probes) {
      const wanting = this.wanters.get(probe);
      if (wanting === key) this.wanters.delete(probe);
      else if (typeof wanting === 'object') {
        wanting.delete(key);
        if (wanting.size === 0) this.wanters.delete(probe);
      }
    }
  }

  /** The dataText of `key` in `set` ('' in a set without data); undefined when absent. */
  element(set: string, key: string): string | undefined {
    return this.elements.element(set, key);
  }

  /** The elements of one set as nft prints them. */
  elementLines(set: string): Iterable<string> {
    return this.elements.lines(set);
  }

  chain(name: string): NftChain | undefined {
    return this.chains.get(name)?.value;
  }

  set(name: string): NftSetDecl | undefined {
    const decl = this.sets.get(name)?.value;
    return decl && withSize(decl, this.sizes.get(name));
  }

  chainNames(): string[] {
    return [...this.chains.keys()];
  }

  setDecls(): NftSetDecl[] {
    return [...this.sets.values()].map((s) => withSize(s.value, this.sizes.get(s.value.name)));
  }

  /** What a full batch of this state writes (elements as printed: see ElementIndex.listed). */
  stats(): { chains: number; sets: number; elements: number } {
    return { chains: this.chains.size, sets: this.sets.size, elements: this.elements.listed() };
  }

  /**
   * Finishes the bookkeeping a build from scratch leaves for later (ElementIndex.settle).
   * Optional: whatever needs it settles first. The dataplane calls it while nft loads the
   * full batch, which does not need it.
   */
  settle(): void {
    this.elements.settle();
  }

  /**
   * The whole table in the order its parts were added, for a full batch: nft 1.0.6 loads
   * it as fast as the canonical order, and sorting ~200k elements costs ~350 ms at 10k
   * services. Base chains come first (the skeleton is the first part).
   */
  toBatchTable(): NftTableText {
    const chains = [...this.chains.values()].map((c) => c.value);
    return { family: this.family, table: TABLE_NAME, comment: TABLE_COMMENT, sets: this.setDecls(), chains, elementCommands: (b) => this.elements.commands(b) };
  }

  /** The whole table in canonical order, as lowerNftables returns it (elements parsed back from their text). */
  toRuleset(): NftRuleset {
    const texts = this.elements.texts();
    const sets = this.setDecls().map((decl) => {
      const elements = (texts.get(decl.name) ?? []).map(([key, data]) => elementFromText(decl, key, data));
      return { ...decl, elements };
    });
    const chains = [...this.chains.values()].map((c) => c.value);
    return assembleRuleset(this.family, TABLE_NAME, TABLE_COMMENT, sets, chains);
  }
}
