/**
 * Label and field selectors as the API server accepts them in `labelSelector` / `fieldSelector`.
 * Label grammar handled: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`; commas AND.
 * Fields handled: `metadata.name` and `metadata.namespace` with `=`, `==`, `!=`.
 */

export type Selector = (obj: FakeObject) => boolean;

export interface FakeObject {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type ParsedSelector = { ok: true; match: Selector } | { ok: false; message: string };

const matchAll: Selector = () => true;

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  terms.push(current.trim());
  return terms.filter((t) => t !== '');
}

function labelTerm(term: string): Selector | null {
  const setMatch = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const [, key, op, list] = setMatch as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((v) => v.trim()));
    return (o) => {
      const value = o.metadata.labels?.[key];
      return op === 'in' ? value !== undefined && values.has(value) : value === undefined || !values.has(value);
    };
  }
  const cmp = /^([\w./-]+)\s*(!=|==|=)\s*([\w.-]*)$/.exec(term);
  if (cmp) {
    const [, key, op, value] = cmp as unknown as [string, string, string, string];
    if (op === '!=') return (o) => o.metadata.labels?.[key] !== value;
    return (o) => o.metadata.labels?.[key] === value;
  }
  const exists = /^(!?)([\w./-]+)$/.exec(term);
  if (exists) {
    const [, negated, key] = exists as unknown as [string, string, string];
    return (o) => (o.metadata.labels?.[key] !== undefined) !== (negated === '!');
  }
  return null;
}

export function parseLabelSelector(text: string | null): ParsedSelector {
  if (!text) return { ok: true, match: matchAll };
  const parts: Selector[] = [];
  for (const term of splitTerms(text)) {
    const sel = labelTerm(term);
    if (!sel) return { ok: false, message: `unable to parse requirement: ${JSON.stringify(term)}` };
    parts.push(sel);
  }
  return { ok: true, match: (o) => parts.every((p) => p(o)) };
}

const fieldGetters: Record<string, (o: FakeObject) => string> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

export function parseFieldSelector(text: string | null): ParsedSelector {
  if (!text) return { ok: true, match: matchAll };
  const parts: Selector[] = [];
  for (const term of splitTerms(text)) {
    const m = /^([\w.]+)\s*(!=|==|=)\s*(.*)$/.exec(term);
    const get = m ? fieldGetters[m[1] as string] : undefined;
    if (!m || !get) return { ok: false, message: `field label not supported: ${JSON.stringify(term)}` };
    const [, , op, value] = m as unknown as [string, string, string, string];
    parts.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return { ok: true, match: (o) => parts.every((p) => p(o)) };
}
