/**
 * Text → raw objects. Accepts JSON (an object, a list of objects, or a v1 List) and YAML
 * (multi-document; each document an object or a List). Lists (a kind ending in "List" with
 * `items`) are flattened. What cannot be read is reported as a problem of kind `File`
 * naming the source; the other documents are still returned. Never throws.
 */
import { parseAllDocuments } from 'yaml';
import { field, isRecord, show } from './fields.js';
import type { Problem } from './types.js';

/** Lists inside Lists are flattened this deep; deeper nesting is refused, not recursed. */
const MAX_LIST_DEPTH = 4;

interface Loaded {
  objects: unknown[];
  problems: Problem[];
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? '').trim().replace(/:$/, '');
}

function flatten(value: unknown, where: string, source: string, out: Loaded, depth = 0): void {
  const problem = (reason: string): void => {
    out.problems.push({ kind: 'File', namespace: '', name: source, reason: `${where}: ${reason}` });
  };
  if (value === null || value === undefined) return;
  if (depth > MAX_LIST_DEPTH) return problem(`lists nested more than ${MAX_LIST_DEPTH} deep`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => flatten(item, `${where}[${i}]`, source, out, depth + 1));
    return;
  }
  if (!isRecord(value)) return problem(`${show(value)} is not an object`);
  const kind = field(value, 'kind');
  const items = field(value, 'items');
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) {
    items.forEach((item, i) => flatten(item, `${where}.items[${i}]`, source, out, depth + 1));
    return;
  }
  out.objects.push(value);
}

function looksLikeJSON(text: string): boolean {
  const start = text.trimStart()[0];
  return start === '{' || start === '[';
}

function parseJSON(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return null;
  }
}

function loadYAML(text: string, source: string, out: Loaded): void {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) return;
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `document ${i + 1}` : 'document';
    const error = doc.errors[0];
    if (error) {
      out.problems.push({ kind: 'File', namespace: '', name: source, reason: `${where}: ${firstLine(error.message)}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // yaml throws here on an alias bomb ("Excessive alias count").
      out.problems.push({ kind: 'File', namespace: '', name: source, reason: `${where}: ${firstLine(String(err))}` });
      return;
    }
    flatten(value, where, source, out);
  });
}

export function parseObjectsText(text: string, source: string): { objects: unknown[]; problems: Problem[] } {
  const out: Loaded = { objects: [], problems: [] };
  try {
    const json = looksLikeJSON(text) ? parseJSON(text) : null;
    // Not JSON after all: a YAML flow collection also starts with "{" or "[".
    if (json) flatten(json.value, 'document', source, out);
    else loadYAML(text, source, out);
  } catch (err) {
    out.problems.push({ kind: 'File', namespace: '', name: source, reason: `unreadable: ${firstLine(String(err))}` });
  }
  return out;
}
