/**
 * Which elements the table holds and which parts contribute them. Elements of sets without
 * data (`cluster-ips`, the CIDR and firewall sets) are the only ones two parts can both
 * contribute (a ClusterIP of a multi-port service): one Set per set, the extra contributors
 * counted in `sharedKeys` (`set\nkey` → parts). Self pairs (`hairpin-endpoints`, SelfPairs)
 * are kept per address, with the extra listings counted. Map elements stay in their parts only: each is keyed by a
 * destination its part holds (build.ts checks), so it has one contributor and is found
 * through `holders`; indexing them too cost ~150k Map entries at 10k services. A part's
 * per-index endpoint maps (IndexedElements) are map elements kept as endpoint lists.
 */
import { selfPairKey, type BuiltParts, type IndexedElements, type SelfPairs } from './build.js';
import { touchedMap } from './counted.js';
import type { NftSet } from './model.js';
import { CLAIM_MAPS } from './names.js';
import type { ElementBatcher } from './render-text.js';

/** Set → key text → dataText before an update ('' in a set without data; undefined: absent). */
export type TouchedElements = Map<string, Map<string, string | undefined>>;

/** An element as nft prints it: `key`, or `key : data` in a map. */
export function elementLine(key: string, data: string): string {
  return data === '' ? key : `${key} : ${data}`;
}

export class ElementIndex {
  private readonly setKeys = new Map<string, Set<string>>();
  private readonly sharedKeys = new Map<string, number>();
  /**
   * Self pairs: set → the ips some part lists. Most are listed by one part, so a Set holds
   * them all and `extraPairs` (`set\nip` → parts) only those listed more than once: one hash
   * operation per listing instead of a Map's get and set (~40 ms less at 100k endpoints).
   */
  private readonly pairIPs = new Map<string, Set<string>>();
  private readonly extraPairs = new Map<string, number>();
  /**
   * Self-pair lists of parts added by a build from scratch, not yet in `pairIPs`: a full
   * batch prints them as they are (an address two parts list appears twice; nft adds it
   * once), and `settle()` indexes them while nft loads the batch. Everything that reads or
   * changes the index settles first.
   */
  private unsettled: SelfPairs[] = [];
  /** Listings in `unsettled`, per set. */
  private readonly unsettledListings = new Map<string, number>();
  /** Map elements in the parts. */
  private mapElements = 0;
  /** Map elements in the parts' element triples, per map (a box each: one lookup per element). */
  private readonly mapCounts = new Map<string, { n: number }>();
  /** Per `sets` array of the parts' endpoint lists (shared, IndexedElements): how many lists have each length. */
  private readonly listLengths = new Map<readonly string[], number[]>();
  /** Destination (key text) → the part holding it in a dispatch map (CLAIM_MAPS). */
  private readonly holders = new Map<string, string>();

  constructor(
    private readonly parts: ReadonlyMap<string, { built: BuiltParts }>,
    private readonly declOf: (set: string) => Omit<NftSet, 'elements'> | undefined,
  ) {}

  /** The part holding the destination `key` in a dispatch map. */
  holder(key: string): string | undefined {
    return this.holders.get(key);
  }

  /** Counts in the elements of part `key`; records in `touched` what they were before. */
  add(key: string, built: BuiltParts, touched: TouchedElements | null): void {
    const e = built.elements;
    for (let i = 0; i < e.length; i += 3) {
      const set = e[i]!;
      const k = e[i + 1]!;
      if (e[i + 2] !== '') {
        // A map element: its destination had no holder (this part claimed it), so it was absent.
        this.mapElements++;
        const counted = this.mapCounts.get(set);
        if (counted) counted.n++;
        else this.mapCounts.set(set, { n: 1 });
        if (CLAIM_MAPS.has(set)) this.holders.set(k, key);
        if (touched) {
          const before = touchedMap(touched, set);
          if (!before.has(k)) before.set(k, undefined);
        }
        continue;
      }
      let keys = this.setKeys.get(set);
      if (!keys) this.setKeys.set(set, (keys = new Set()));
      if (touched) {
        const before = touchedMap(touched, set);
        if (!before.has(k)) before.set(k, keys.has(k) ? '' : undefined);
      }
      // A key already there leaves the size as it was: one lookup instead of two.
      const size = keys.size;
      keys.add(k);
      if (keys.size === size) {
        const id = `${set}\n${k}`;
        this.sharedKeys.set(id, (this.sharedKeys.get(id) ?? 1) + 1);
      }
    }
    for (let j = 0; j < built.indexed.length; j++) {
      const list = built.indexed[j]!;
      this.mapElements += list.endpoints.length;
      this.countList(list, 1);
      if (touched) forIndexed(list, (set, k) => {
        const before = touchedMap(touched, set);
        if (!before.has(k)) before.set(k, undefined);
      });
    }
    if (built.selfPairs === null) return;
    if (touched === null) {
      const { set, endpoints } = built.selfPairs;
      this.unsettled.push(built.selfPairs);
      this.unsettledListings.set(set, (this.unsettledListings.get(set) ?? 0) + endpoints.length);
    } else {
      this.settle();
      this.countPairs(built.selfPairs, 1, touched);
    }
  }

  /** Indexes the self pairs a build from scratch left for later (see `unsettled`). */
  settle(): void {
    if (this.unsettled.length === 0) return;
    for (const pairs of this.unsettled) this.countPairs(pairs, 1, null);
    this.unsettled = [];
    this.unsettledListings.clear();
  }

  /** Counts out the elements of part `key` (still in `parts` or not). */
  remove(key: string, built: BuiltParts, touched: TouchedElements): void {
    this.settle();
    const e = built.elements;
    for (let i = 0; i < e.length; i += 3) {
      const set = e[i]!;
      const k = e[i + 1]!;
      const data = e[i + 2]!;
      const before = touchedMap(touched, set);
      if (data !== '') {
        this.mapElements--;
        this.mapCounts.get(set)!.n--;
        if (CLAIM_MAPS.has(set) && this.holders.get(k) === key) this.holders.delete(k);
        if (!before.has(k)) before.set(k, data);
        continue;
      }
      const keys = this.setKeys.get(set);
      if (!keys?.has(k)) continue;
      if (!before.has(k)) before.set(k, '');
      const id = `${set}\n${k}`;
      const holders = this.sharedKeys.get(id);
      if (holders === undefined) keys.delete(k);
      else if (holders === 2) this.sharedKeys.delete(id);
      else this.sharedKeys.set(id, holders - 1);
    }
    for (const list of built.indexed) {
      this.mapElements -= list.endpoints.length;
      this.countList(list, -1);
      forIndexed(list, (set, k, data) => {
        const before = touchedMap(touched, set);
        if (!before.has(k)) before.set(k, data);
      });
    }
    if (built.selfPairs !== null) this.countPairs(built.selfPairs, -1, touched);
  }

  private countList({ sets, endpoints }: IndexedElements, delta: 1 | -1): void {
    let lengths = this.listLengths.get(sets);
    if (!lengths) this.listLengths.set(sets, (lengths = []));
    while (lengths.length <= endpoints.length) lengths.push(0);
    lengths[endpoints.length]! += delta;
  }

  /** Elements of `set`, or more: an unsettled self pair counts once per listing. */
  count(set: string): number {
    let n = (this.setKeys.get(set)?.size ?? 0) + (this.pairIPs.get(set)?.size ?? 0) + (this.mapCounts.get(set)?.n ?? 0);
    n += this.unsettledListings.get(set) ?? 0;
    for (const [sets, lengths] of this.listLengths) {
      // Index i of a list is in the map sets[i]: every list longer than i has an element there.
      const i = sets.indexOf(set);
      if (i >= 0) for (let length = i + 1; length < lengths.length; length++) n += lengths[length]!;
    }
    return n;
  }

  /** Counts a part's self pairs in (+1) or out (-1); a pair is an element while some part lists it. */
  private countPairs({ set, endpoints }: SelfPairs, delta: 1 | -1, touched: TouchedElements | null): void {
    let ips = this.pairIPs.get(set);
    if (!ips) this.pairIPs.set(set, (ips = new Set()));
    const before = touched === null ? null : touchedMap(touched, set);
    for (const { ip } of endpoints) {
      if (before !== null) {
        const k = selfPairKey(ip);
        if (!before.has(k)) before.set(k, ips.has(ip) ? '' : undefined);
      }
      if (delta === 1) {
        const size = ips.size;
        ips.add(ip);
        if (ips.size === size) {
          const id = `${set}\n${ip}`;
          this.extraPairs.set(id, (this.extraPairs.get(id) ?? 1) + 1);
        }
        continue;
      }
      const id = `${set}\n${ip}`;
      const listed = this.extraPairs.get(id);
      if (listed === undefined) ips.delete(ip);
      else if (listed === 2) this.extraPairs.delete(id);
      else this.extraPairs.set(id, listed - 1);
    }
  }

  private *pairKeys(set: string): Generator<string> {
    for (const ip of this.pairIPs.get(set) ?? []) yield selfPairKey(ip);
  }

  /** The dataText of `key` in `set` ('' in a set without data); undefined when absent. */
  element(set: string, key: string): string | undefined {
    if (this.declOf(set)?.data === null) {
      this.settle();
      const ip = key.slice(0, key.indexOf(' . '));
      if (this.pairIPs.get(set)?.has(ip) && selfPairKey(ip) === key) return '';
      return this.setKeys.get(set)?.has(key) ? '' : undefined;
    }
    const holder = this.holders.get(key);
    const built = holder === undefined ? undefined : this.parts.get(holder)?.built;
    if (built === undefined) return undefined;
    const e = built.elements;
    for (let i = 0; i < e.length; i += 3) if (e[i] === set && e[i + 1] === key) return e[i + 2];
    for (const list of built.indexed) {
      if (list.key !== key) continue;
      const i = list.sets.indexOf(set);
      if (i >= 0 && i < list.endpoints.length) return list.endpoints[i]!.ip;
    }
    return undefined;
  }

  /** The elements of one set as nft prints them. */
  *lines(set: string): Generator<string> {
    if (this.declOf(set)?.data === null) {
      this.settle();
      yield* this.setKeys.get(set) ?? [];
      yield* this.pairKeys(set);
      return;
    }
    for (const [s, key, data] of this.mapElementTriples()) if (s === set) yield elementLine(key, data);
  }

  private *mapElementTriples(): Generator<[string, string, string]> {
    for (const { built } of this.parts.values()) {
      const e = built.elements;
      for (let i = 0; i < e.length; i += 3) if (e[i + 2] !== '') yield [e[i]!, e[i + 1]!, e[i + 2]!];
      for (const { key, sets, endpoints } of built.indexed) {
        for (let i = 0; i < endpoints.length; i++) yield [sets[i]!, key, endpoints[i]!.ip];
      }
    }
  }

  /**
   * Every element as `add element` commands, sets without data first, then the maps' in
   * one pass over the parts (commands of different maps interleave; nft does not mind).
   */
  *commands(batcher: ElementBatcher): Generator<string> {
    for (const [set, keys] of this.setKeys) {
      for (const key of keys) {
        const command = batcher.add(set, key);
        if (command !== null) yield command;
      }
    }
    for (const set of this.pairIPs.keys()) {
      for (const key of this.pairKeys(set)) {
        const command = batcher.add(set, key);
        if (command !== null) yield command;
      }
    }
    for (const { set, endpoints } of this.unsettled) {
      for (let i = 0; i < endpoints.length; i++) {
        const command = batcher.add(set, selfPairKey(endpoints[i]!.ip));
        if (command !== null) yield command;
      }
    }
    for (const { built } of this.parts.values()) {
      const e = built.elements;
      for (let i = 0; i < e.length; i += 3) {
        if (e[i + 2] === '') continue;
        const command = batcher.add(e[i]!, e[i + 1]!, e[i + 2]);
        if (command !== null) yield command;
      }
      for (let j = 0; j < built.indexed.length; j++) {
        const { key, sets, endpoints } = built.indexed[j]!;
        for (let i = 0; i < endpoints.length; i++) {
          const command = batcher.add(sets[i]!, key, endpoints[i]!.ip);
          if (command !== null) yield command;
        }
      }
    }
    yield* batcher.rest();
  }

  /** Every element as [key text, dataText], by set. */
  texts(): Map<string, Array<[string, string]>> {
    this.settle();
    const texts = new Map<string, Array<[string, string]>>();
    const push = (set: string, key: string, data: string) => (texts.get(set) ?? texts.set(set, []).get(set))?.push([key, data]);
    for (const [set, keys] of this.setKeys) for (const key of keys) push(set, key, '');
    for (const set of this.pairIPs.keys()) for (const key of this.pairKeys(set)) push(set, key, '');
    for (const [set, key, data] of this.mapElementTriples()) push(set, key, data);
    return texts;
  }

  /** The elements a full batch prints: each element once, but an unsettled self pair once per listing. */
  listed(): number {
    let elements = this.mapElements;
    for (const listings of this.unsettledListings.values()) elements += listings;
    for (const keys of this.setKeys.values()) elements += keys.size;
    for (const ips of this.pairIPs.values()) elements += ips.size;
    return elements;
  }
}

/** Calls `each(set, key, data)` for every element of an endpoint list. */
function forIndexed({ key, sets, endpoints }: IndexedElements, each: (set: string, key: string, data: string) => void): void {
  for (let i = 0; i < endpoints.length; i++) each(sets[i]!, key, endpoints[i]!.ip);
}
