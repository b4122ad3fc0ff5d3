/**
 * Declared sizes (`size`) of the big sets and maps. Without one, kernel 6.18 gives a hash
 * set a resizable table of 4 buckets that doubles as elements arrive (rehashing a 100k set
 * ~15 times while nft loads it); with one, a fixed table for that many (`nft_hash`). Figures:
 * README.md, "Declared sizes".
 *
 * `size` is also a cap: the kernel refuses an element beyond it (ENFILE). So a size is set
 * only when a whole table is written (cold or full sync: `sizeFor` the set's element count),
 * and a partial sync that takes a sized set past its size declares it again, larger, and
 * refills it in the same transaction (plan.ts, "redeclared"). A set that grows from nothing
 * in partial syncs stays unsized (resizable, no cap) until the next full sync.
 */
import type { NftSet } from './model.js';

type Decl = Omit<NftSet, 'elements'>;

/** Smaller sets stay resizable: their few doublings cost nothing worth the kernel memory. */
export const SIZED_FROM = 1024;

/** Room for half as many again, in steps of 1024 (the kernel rounds the buckets to a power of two). */
export function sizeFor(elements: number): number | undefined {
  return elements < SIZED_FROM ? undefined : Math.ceil((elements * 1.5) / 1024) * 1024;
}

/** Sets whose size kpx chooses: not interval sets (other backends), not those declaring their own (affinity). */
export function sizable(decl: Decl): boolean {
  return decl.size === undefined && !decl.flags.includes('interval') && !decl.flags.includes('dynamic');
}

export function withSize(decl: Decl, size: number | undefined): Decl {
  return size === undefined ? decl : { ...decl, size };
}
