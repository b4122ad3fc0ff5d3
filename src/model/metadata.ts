/**
 * Object identity and labels. Problems about an object carry its namespace/name; until
 * those are validated they are shown escaped, so a hostile name cannot forge a log line.
 */
import { Findings, field, isRecord, quote, show, type RawRecord } from './fields.js';
import { checkDNS1123Label, checkLabelKey, checkLabelValue, readName, type NameCheck } from './k8s-names.js';

/** Objects read from files often omit the namespace; kubectl would put them in `default`. */
export const DEFAULT_NAMESPACE = 'default';

const SAFE_IDENT = /^[A-Za-z0-9._-]{1,253}$/;

/** A raw namespace or name as a problem may carry it. */
export function displayIdent(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string') return `(${show(value)})`;
  return SAFE_IDENT.test(value) ? value : quote(value);
}

function rawNamespace(raw: unknown, namespaced: boolean): unknown {
  if (!namespaced) return '';
  const ns = field(field(raw, 'metadata'), 'namespace');
  return ns === undefined || ns === null || ns === '' ? DEFAULT_NAMESPACE : ns;
}

export function rawName(raw: unknown): unknown {
  return field(field(raw, 'metadata'), 'name');
}

/** A Findings for `raw`, named as well as can be told before validation. */
export function findingsFor(kind: string, raw: unknown, namespaced: boolean): Findings {
  return new Findings(kind, displayIdent(rawNamespace(raw, namespaced)), displayIdent(rawName(raw)));
}

/** `kind namespace/name` before validation: what tells duplicates apart. */
export function rawIdentityKey(kind: string, raw: unknown, namespaced: boolean): string {
  return `${kind} ${displayIdent(rawNamespace(raw, namespaced))}/${displayIdent(rawName(raw))}`;
}

export interface Identity {
  namespace: string;
  name: string;
}

/** Validates metadata.namespace (a DNS-1123 label; '' for cluster-scoped kinds) and metadata.name. */
export function readIdentity(f: Findings, raw: RawRecord, namespaced: boolean, nameCheck: NameCheck): Identity | null {
  const metadata = field(raw, 'metadata');
  if (!isRecord(metadata)) {
    f.add('metadata', metadata === undefined || metadata === null ? 'missing' : `${show(metadata)} is not an object`);
    return null;
  }
  const name = readName(f, 'metadata.name', field(metadata, 'name'), nameCheck);
  const namespace = namespaced ? readName(f, 'metadata.namespace', rawNamespace(raw, true), checkDNS1123Label) : '';
  return name !== null && namespace !== null ? { namespace, name } : null;
}

function rawLabels(raw: unknown): unknown {
  return field(field(raw, 'metadata'), 'labels');
}

/** Whether the object carries label `key`, whatever its value (a `DoesNotExist` selector's test). */
export function hasLabel(raw: unknown, key: string): boolean {
  const labels = rawLabels(raw);
  return isRecord(labels) && Object.hasOwn(labels, key);
}

export function labelValue(raw: unknown, key: string): unknown {
  return field(rawLabels(raw), key);
}

/** Valid labels only; each invalid one is reported and left out. */
export function readLabels(f: Findings, raw: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  const value = rawLabels(raw);
  if (value === undefined || value === null) return labels;
  if (!isRecord(value)) {
    f.add('metadata.labels', `${show(value)} is not an object`);
    return labels;
  }
  for (const [key, v] of Object.entries(value as RawRecord)) {
    const path = `metadata.labels[${quote(key)}]`;
    const keyProblem = checkLabelKey(key);
    const valueProblem = typeof v === 'string' ? checkLabelValue(v) : 'is not a string';
    if (keyProblem) f.add(path, `key ${keyProblem}`);
    else if (valueProblem) f.add(path, `value ${show(v)} ${valueProblem}`);
    else labels[key] = v as string;
  }
  return labels;
}
