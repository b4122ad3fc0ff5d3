/**
 * Normalizes a Kubernetes object to plain JSON data: Date → RFC 3339 string (seconds precision
 * when the milliseconds are zero, as the API server writes metav1.Time), undefined properties
 * dropped. Objects already plain (anything straight from JSON.parse) are returned as they are,
 * without a copy.
 */
export function toPlainJson(value: unknown): unknown {
  return normalize(value).value;
}

function normalize(value: unknown): { value: unknown; changed: boolean } {
  if (value instanceof Date) {
    const iso = Number.isNaN(value.getTime()) ? '' : value.toISOString().replace(/\.000Z$/, 'Z');
    return { value: iso, changed: true };
  }
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const n = normalize(item);
      changed ||= n.changed;
      return n.value;
    });
    return changed ? { value: items, changed } : { value, changed };
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) {
        changed = true;
        continue;
      }
      const n = normalize(item);
      changed ||= n.changed;
      out[key] = n.value;
    }
    return changed ? { value: out, changed } : { value, changed };
  }
  return { value, changed: false };
}
