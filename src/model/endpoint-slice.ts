/**
 * discovery.k8s.io/v1 EndpointSlice → EndpointSlice. FQDN slices are skipped silently
 * (kube-proxy ignores them). Any invalid field skips the whole slice with one problem per
 * reason, including an endpoint whose address is not of the slice's addressType: the API
 * server refuses such slices, so one can only come from a hand-written file, and guessing
 * which part is right would hide the mistake. Tolerated as kube-proxy tolerates them: a
 * port entry with no port number (ignored), an endpoint with no address (ignored).
 */
import { readIP } from './addresses.js';
import {
  type Findings,
  field,
  isAbsent,
  isRecord,
  readBoolean,
  readEnum,
  readInt,
  readList,
  readRecord,
  show,
} from './fields.js';
import {
  checkDNS1035Label,
  checkDNS1123Label,
  checkDNS1123Subdomain,
  checkZoneName,
  readName,
  type NameCheck,
} from './k8s-names.js';
import { findingsFor, labelValue, readIdentity } from './metadata.js';
import { PROTOCOLS } from './service-ports.js';
import type { EndpointSlice, IPFamily, Problem, SliceEndpoint, SlicePort } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** An optional name: absent or '' gives ''. */
function readOptionalName(f: Findings, path: string, value: unknown, check: NameCheck): string {
  if (isAbsent(value) || value === '') return '';
  return readName(f, path, value, check) ?? '';
}

function readSlicePorts(f: Findings, value: unknown): SlicePort[] {
  const ports: SlicePort[] = [];
  const names = new Map<string, number>();
  readList(f, 'ports', value).forEach((item, i) => {
    const path = `ports[${i}]`;
    const raw = readRecord(f, path, item);
    const name = readOptionalName(f, `${path}.name`, field(raw, 'name'), checkDNS1123Label);
    const protocol = readEnum(f, `${path}.protocol`, field(raw, 'protocol'), PROTOCOLS, 'TCP');
    if (isAbsent(field(raw, 'port'))) return;
    const port = readInt(f, `${path}.port`, field(raw, 'port'), 1, 65535, 0);
    const earlier = names.get(name);
    if (earlier !== undefined) f.add(`${path}.name`, `duplicate of ports[${earlier}].name "${name}"`);
    names.set(name, i);
    ports.push({ name, protocol, port });
  });
  return ports;
}

/** The hints of an endpoint that has none (nearly all): one shared list, not 2 × 100k empty ones. */
const NO_HINTS: readonly string[] = Object.freeze([]);

function readHintNames(f: Findings, path: string, value: unknown, check: NameCheck): readonly string[] {
  const names: string[] = [];
  readList(f, path, value).forEach((item, i) => {
    const name = readName(f, `${path}[${i}].name`, field(readRecord(f, `${path}[${i}]`, item), 'name'), check);
    if (name !== null && !names.includes(name)) names.push(name);
  });
  return names.length > 0 ? names : NO_HINTS;
}

/** One item of `endpoints`; paths are relative to it (see `Findings.within`). */
function readEndpoint(f: Findings, value: unknown, family: IPFamily | null): SliceEndpoint | null {
  const raw = readRecord(f, '', value);
  const addresses = readList(f, '.addresses', field(raw, 'addresses'));
  if (addresses.length === 0) return null;
  const address = readIP(f, '.addresses[0]', addresses[0]);
  if (address && family && address.family !== family) {
    f.add('.addresses[0]', `${address.ip} is IPv${address.family} but addressType is IPv${family}`);
  }
  const conditions = readRecord(f, '.conditions', field(raw, 'conditions'));
  // Unknown readiness counts as ready (the API's documented meaning of a nil condition).
  const ready = readBoolean(f, '.conditions.ready', field(conditions, 'ready')) ?? true;
  const serving = readBoolean(f, '.conditions.serving', field(conditions, 'serving')) ?? ready;
  const terminating = readBoolean(f, '.conditions.terminating', field(conditions, 'terminating')) ?? false;
  const hints = readRecord(f, '.hints', field(raw, 'hints'));
  return {
    ip: address?.ip ?? '',
    ready,
    serving,
    terminating,
    nodeName: readOptionalName(f, '.nodeName', field(raw, 'nodeName'), checkDNS1123Subdomain),
    zone: readOptionalName(f, '.zone', field(raw, 'zone'), checkZoneName),
    zoneHints: readHintNames(f, '.hints.forZones', field(hints, 'forZones'), checkZoneName),
    nodeHints: readHintNames(f, '.hints.forNodes', field(hints, 'forNodes'), checkDNS1123Subdomain),
  };
}

function readAddressType(f: Findings, value: unknown): IPFamily | null {
  if (isAbsent(value)) {
    f.add('addressType', 'missing');
    return null;
  }
  return readEnum(f, 'addressType', value, ['IPv4', 'IPv6'], 'IPv4') === 'IPv6' ? 6 : 4;
}

export function normalizeEndpointSlice(raw: unknown): { slice: EndpointSlice | null; problems: Problem[] } {
  const f = findingsFor('EndpointSlice', raw, true);
  if (!isRecord(raw)) {
    f.add('object', `${show(raw)} is not an object`);
    return { slice: null, problems: f.problems };
  }
  if (field(raw, 'addressType') === 'FQDN') return { slice: null, problems: [] };

  const identity = readIdentity(f, raw, true, checkDNS1123Subdomain);
  const serviceName = readName(f, `metadata.labels["${SERVICE_NAME_LABEL}"]`, labelValue(raw, SERVICE_NAME_LABEL), checkDNS1035Label);
  const family = readAddressType(f, field(raw, 'addressType'));
  const ports = readSlicePorts(f, field(raw, 'ports'));
  const endpoints: SliceEndpoint[] = [];
  readList(f, 'endpoints', field(raw, 'endpoints')).forEach((item, i) => {
    const endpoint = f.within(`endpoints[${i}]`, () => readEndpoint(f, item, family));
    if (endpoint) endpoints.push(endpoint);
  });
  if (!identity || serviceName === null || family === null || !f.clean) return { slice: null, problems: f.problems };

  return {
    slice: { namespace: identity.namespace, name: identity.name, serviceName, family, ports, endpoints },
    problems: [],
  };
}
