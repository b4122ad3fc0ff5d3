/**
 * v1 Node → NodeInfo, for this node only. Unlike Services and EndpointSlices, a Node is
 * kept when parts of it are bad: an invalid label or address is dropped with a problem,
 * and the rest (the zone label, the other addresses) still serves. Only a Node whose name
 * is invalid is skipped whole.
 */
import { parseIP } from './ip.js';
import { field, isRecord, quote, readList, readRecord, readString, show } from './fields.js';
import { checkDNS1123Subdomain } from './k8s-names.js';
import { findingsFor, readIdentity, readLabels } from './metadata.js';
import type { NodeInfo, Problem } from './types.js';

/** The address types kpx uses, in the order it lists them. */
const ADDRESS_TYPES = ['InternalIP', 'ExternalIP'] as const;

export function normalizeNode(raw: unknown): { node: NodeInfo | null; problems: Problem[] } {
  const f = findingsFor('Node', raw, false);
  if (!isRecord(raw)) {
    f.add('object', `${show(raw)} is not an object`);
    return { node: null, problems: f.problems };
  }
  const identity = readIdentity(f, raw, false, checkDNS1123Subdomain);
  if (!identity) return { node: null, problems: f.problems };

  const labels = readLabels(f, raw);
  const byType = new Map<string, string[]>(ADDRESS_TYPES.map((t) => [t, []]));
  const status = readRecord(f, 'status', field(raw, 'status'));
  readList(f, 'status.addresses', field(status, 'addresses')).forEach((item, i) => {
    const path = `status.addresses[${i}]`;
    const entry = readRecord(f, path, item);
    const list = byType.get(readString(f, `${path}.type`, field(entry, 'type')) ?? '');
    if (!list) return;
    const address = readString(f, `${path}.address`, field(entry, 'address'));
    const parsed = address === undefined ? null : parseIP(address);
    if (!parsed) f.add(`${path}.address`, address === undefined ? 'missing' : `${quote(address)} is not an IP address`);
    else if (!list.includes(parsed.ip)) list.push(parsed.ip);
  });
  const addresses = [...new Set(ADDRESS_TYPES.flatMap((t) => byType.get(t) ?? []))];
  return { node: { name: identity.name, labels, addresses }, problems: f.problems };
}
