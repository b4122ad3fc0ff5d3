/** Order statistics of measured times, for the reports and the CI check. */

/** The value below which a share `q` of `values` lies (NaN for none). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** The item whose `value` is the median (the lower middle one of an even count). */
export function medianItem<T>(items: readonly T[], value: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  const pick = sorted[(sorted.length - 1) >> 1];
  if (pick === undefined) throw new Error('no items');
  return pick;
}

/** The middle value, or the mean of the two middle ones (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return sorted.length === 0 ? NaN : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
