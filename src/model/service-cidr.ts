/**
 * networking.k8s.io ServiceCIDR → its canonical `spec.cidrs`. Any invalid CIDR skips the
 * object whole, with one problem per reason.
 */
import { readCIDRList } from './addresses.js';
import { field, isRecord, readRecord, show } from './fields.js';
import { checkDNS1123Subdomain } from './k8s-names.js';
import { findingsFor, readIdentity } from './metadata.js';
import type { Problem } from './types.js';

export function normalizeServiceCIDR(raw: unknown): { cidrs: string[]; problems: Problem[] } {
  const f = findingsFor('ServiceCIDR', raw, false);
  if (!isRecord(raw)) {
    f.add('object', `${show(raw)} is not an object`);
    return { cidrs: [], problems: f.problems };
  }
  const identity = readIdentity(f, raw, false, checkDNS1123Subdomain);
  const spec = readRecord(f, 'spec', field(raw, 'spec'));
  const cidrs = readCIDRList(f, 'spec.cidrs', field(spec, 'cidrs'));
  return identity && f.clean ? { cidrs, problems: [] } : { cidrs: [], problems: f.problems };
}
