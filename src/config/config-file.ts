/**
 * Reads a `--config` file (YAML or JSON) against kube-proxy's `KubeProxyConfiguration`
 * schema. Pure: text in, typed values or one error out. Unknown fields and values of the
 * wrong type are errors naming the field; see `file-schema.ts` for what is accepted.
 */
import { parseAllDocuments } from 'yaml';
import { parseGoDuration } from './duration.js';
import { isLeaf, KUBE_PROXY_CONFIGURATION, type Leaf, type Section } from './file-schema.js';

export const CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const CONFIG_KIND = 'KubeProxyConfiguration';

/** A checked value: durations are in milliseconds, `boolMap` is a plain record. */
export type FileValue = string | boolean | number | string[] | Record<string, boolean>;

export interface ConfigFile {
  /** Set fields by dotted path (`iptables.syncPeriod`); null and absent fields are left out. */
  values: ReadonlyMap<string, FileValue>;
  warnings: string[];
}

type Checked = { value: FileValue } | { error: string };

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkLeaf(leaf: Leaf, value: unknown): Checked {
  switch (leaf.type) {
    case 'any':
      return { value: value as FileValue };
    case 'string':
      return typeof value === 'string' ? { value } : { error: `must be a string, got ${describe(value)}` };
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { error: `must be true or false, got ${describe(value)}` };
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? { value }
        : { error: `must be an integer, got ${describe(value)}` };
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? { value }
        : { error: `must be a number, got ${describe(value)}` };
    case 'duration': {
      const ms = typeof value === 'string' ? parseGoDuration(value) : null;
      return ms === null
        ? { error: `must be a duration such as "30s", "500ms" or "1m30s", got ${describe(value)}` }
        : { value: ms };
    }
    case 'stringList':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? { value: value as string[] }
        : { error: `must be a list of strings, got ${describe(value)}` };
    case 'boolMap':
      return isMapping(value) && Object.values(value).every((v) => typeof v === 'boolean')
        ? { value: { ...(value as Record<string, boolean>) } }
        : { error: `must be a mapping of names to true or false, got ${describe(value)}` };
  }
}

function isZero(value: FileValue): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return value === false || value === 0 || value === '';
}

function walk(section: Section, obj: Record<string, unknown>, prefix: string, out: ConfigFile): string | null {
  for (const key of Object.keys(obj).sort()) {
    const path = prefix + key;
    const node = section[key];
    if (node === undefined || !Object.hasOwn(section, key)) {
      return `unknown field ${JSON.stringify(path)}: not a ${CONFIG_KIND} field kpx knows`;
    }
    const raw = obj[key];
    if (raw === null || raw === undefined) continue;
    if (!isLeaf(node)) {
      if (!isMapping(raw)) return `${path}: must be a mapping, got ${describe(raw)}`;
      const error = walk(node, raw, `${path}.`, out);
      if (error) return error;
      continue;
    }
    const checked = checkLeaf(node, raw);
    if ('error' in checked) return `${path}: ${checked.error}`;
    (out.values as Map<string, FileValue>).set(path, checked.value);
    if (node.handling === 'warn' && !isZero(checked.value)) {
      out.warnings.push(`${path} is ignored: ${node.reason ?? 'kpx does not support it'}`);
    }
  }
  return null;
}

export function parseConfigFile(text: string): ConfigFile | { error: string } {
  const docs = parseAllDocuments(text);
  if (docs.length === 0) return { error: 'the configuration file is empty' };
  if (docs.length !== 1) {
    return { error: `the configuration file must hold one ${CONFIG_KIND} document, found ${docs.length}` };
  }
  const doc = docs[0]!;
  const problem = doc.errors[0];
  if (problem) return { error: `the configuration file is not valid YAML or JSON: ${problem.message}` };
  const obj: unknown = doc.toJS();
  if (obj === null || obj === undefined) return { error: 'the configuration file is empty' };
  if (!isMapping(obj)) return { error: `the configuration file must hold a ${CONFIG_KIND} mapping, got ${describe(obj)}` };

  if (obj.apiVersion !== CONFIG_API_VERSION) {
    return { error: `apiVersion: must be ${JSON.stringify(CONFIG_API_VERSION)}, got ${describe(obj.apiVersion)}` };
  }
  if (obj.kind !== CONFIG_KIND) {
    return { error: `kind: must be ${JSON.stringify(CONFIG_KIND)}, got ${describe(obj.kind)}` };
  }
  const out: ConfigFile = { values: new Map(), warnings: [] };
  const error = walk(KUBE_PROXY_CONFIGURATION, obj, '', out);
  return error ? { error } : out;
}

/** Typed access to checked file values by dotted path; `duration` treats 0 as unset, as kube-proxy's defaulting does. */
export class ConfigValues {
  constructor(private readonly values: ReadonlyMap<string, FileValue>) {}
  string(path: string): string | undefined {
    const v = this.values.get(path);
    return typeof v === 'string' ? v : undefined;
  }
  boolean(path: string): boolean | undefined {
    const v = this.values.get(path);
    return typeof v === 'boolean' ? v : undefined;
  }
  number(path: string): number | undefined {
    const v = this.values.get(path);
    return typeof v === 'number' ? v : undefined;
  }
  duration(path: string): number | undefined {
    const v = this.number(path);
    return v === 0 ? undefined : v;
  }
  list(path: string): string[] | undefined {
    const v = this.values.get(path);
    return Array.isArray(v) ? v : undefined;
  }
  boolMap(path: string): Record<string, boolean> {
    const v = this.values.get(path);
    return typeof v === 'object' && !Array.isArray(v) ? v : {};
  }
}
