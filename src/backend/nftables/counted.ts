/**
 * Names counted by how many parts of the table state use them (chains, sets), and the
 * record of what an update touched: the value before its first change.
 */

export interface Counted<T> {
  value: T;
  count: number;
}

export function touchedMap<V>(maps: Map<string, Map<string, V>>, name: string): Map<string, V> {
  let map = maps.get(name);
  if (!map) maps.set(name, (map = new Map()));
  return map;
}

export function countUp<T>(counts: Map<string, Counted<T>>, name: string, value: T, touched: Map<string, T | undefined> | undefined): void {
  const entry = counts.get(name);
  if (touched && !touched.has(name)) touched.set(name, entry?.value);
  if (entry) {
    entry.count++;
    entry.value = value;
  } else {
    counts.set(name, { value, count: 1 });
  }
}

export function countDown<T>(counts: Map<string, Counted<T>>, name: string, touched: Map<string, T | undefined>): void {
  const entry = counts.get(name);
  if (!entry) return;
  if (!touched.has(name)) touched.set(name, entry.value);
  if (--entry.count === 0) counts.delete(name);
}
