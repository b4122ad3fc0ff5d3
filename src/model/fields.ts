/**
 * Reading untrusted raw objects field by field. Every reader takes the field's path (as the
 * API spells it, e.g. `spec.ports[1].port`) and records a problem when the value has the
 * wrong shape, so normalizers stay flat and name the field in every reason.
 * `null` and `undefined` both mean "absent": JSON carries the first, client-node the second.
 */
import type { Problem } from './types.js';

export type RawRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is RawRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: inherited ones (`constructor`, `__proto__`) never count as fields. */
export function field(obj: unknown, key: string): unknown {
  return isRecord(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

const MAX_SHOWN = 64;

/** Quotes a string for a message: printable ASCII only, bounded length, no newlines. */
export function quote(text: string): string {
  const escaped = JSON.stringify(text.slice(0, MAX_SHOWN)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > MAX_SHOWN ? `${escaped}…` : escaped;
}

/** A raw value as it may appear in a problem reason. */
export function show(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Collects the problems of one object; the object is kept only if none was found. */
export class Findings {
  readonly problems: Problem[] = [];

  constructor(
    readonly kind: string,
    public namespace: string,
    public name: string,
  ) {}

  /** Prepended to every path added (see `within`). */
  private prefix = '';

  add(path: string, message: string): void {
    const reason = `${this.prefix}${path}: ${message}`;
    this.problems.push({ kind: this.kind, namespace: this.namespace, name: this.name, reason });
  }

  /**
   * Runs `read` with every path it adds relative to `prefix`: a reader of one list item
   * passes constant paths (`''` for the item, `.field` for a field of it) instead of
   * building one string per field of every item.
   */
  within<T>(prefix: string, read: () => T): T {
    const outer = this.prefix;
    this.prefix = outer + prefix;
    try {
      return read();
    } finally {
      this.prefix = outer;
    }
  }

  get clean(): boolean {
    return this.problems.length === 0;
  }
}

export function readString(f: Findings, path: string, value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'string') return value;
  f.add(path, `${show(value)} is not a string`);
  return undefined;
}

export function readBoolean(f: Findings, path: string, value: unknown): boolean | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'boolean') return value;
  f.add(path, `${show(value)} is not a boolean`);
  return undefined;
}

/** An integer in [min, max]; absent gives `fallback`. */
export function readInt(f: Findings, path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (isAbsent(value)) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    f.add(path, `${show(value)} is not an integer`);
    return fallback;
  }
  if (value < min || value > max) {
    f.add(path, `${value} is out of range ${min}-${max}`);
    return fallback;
  }
  return value;
}

/** A list; absent gives []. */
export function readList(f: Findings, path: string, value: unknown): unknown[] {
  if (isAbsent(value)) return [];
  if (Array.isArray(value)) return value;
  f.add(path, `${show(value)} is not a list`);
  return [];
}

/** An object; absent gives an empty one. */
export function readRecord(f: Findings, path: string, value: unknown): RawRecord {
  if (isAbsent(value)) return {};
  if (isRecord(value)) return value;
  f.add(path, `${show(value)} is not an object`);
  return {};
}

/** One of `allowed`; absent (or '', which the API server defaults the same way) gives `fallback`. */
export function readEnum<T extends string>(
  f: Findings,
  path: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (isAbsent(value) || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  f.add(path, `${show(value)} is not one of ${allowed.join(', ')}`);
  return fallback;
}
