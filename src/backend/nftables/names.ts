/**
 * Names of everything in the `kpx` table. Shared objects have fixed names without '/';
 * the per-service chains and sets of dedicated services follow kube-proxy's nftables
 * scheme (`service-ULMVA6XW-ns1/svc1/tcp/p80`), so they can never collide with them.
 */
import type { EndpointIntent, ServicePortIntent } from '../../compile/intent.js';
import { hashPrefix } from '../../compile/names.js';

export const TABLE_NAME = 'kpx';
export const TABLE_COMMENT = 'rules for kpx (kube-proxy replacement)';

export const SET = {
  clusterIPs: 'cluster-ips',
  serviceCIDRs: 'service-cidrs',
  podCIDRs: 'pod-cidrs',
  nodePortAddresses: 'nodeport-addresses',
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
  hairpin: 'hairpin-endpoints',
  affinityServiceIPs: 'affinity-service-ips',
  affinityNodePorts: 'affinity-nodeports',
  affinityRecordIPs: 'affinity-record-ips',
  affinityRecordNodePorts: 'affinity-record-nodeports',
  /** Declared by the first service port with ClientIP affinity (affinity.ts). */
  affinity: 'affinity',
} as const;

export const CHAIN = {
  services: 'services',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  firewallCheck: 'firewall-check',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  clusterIPsCheck: 'cluster-ips-check',
  reject: 'reject-chain',
  affinityRecording: 'affinity-recording',
} as const;

/**
 * The dispatch maps: a destination (an address, protocol and port, or a NodePort) belongs
 * to the service port holding it in one of these, the first in intent order that claims it.
 */
export const CLAIM_MAPS: ReadonlySet<string> = new Set([SET.serviceIPs, SET.noEndpointServices, SET.serviceNodePorts, SET.noEndpointNodePorts]);

/** Where a shared chain's maps are keyed: by service address or by NodePort. */
export type Domain = 'service' | 'nodeport';
/** Which endpoint list a shared map holds for a destination (see README: "Endpoint lists"). */
export type ListKind = 'primary' | 'local';

function domainPrefix(domain: Domain): string {
  return domain === 'nodeport' ? 'nodeport-' : '';
}

function listPrefix(list: ListKind): string {
  return list === 'local' ? 'local-' : '';
}

/**
 * One string per name, and one array of them per domain and list: a part keeps its
 * per-index maps as that array (build.ts IndexedElements), and 10k parts holding 10k copies
 * of `endpoint-ips-3` (each hashed again by every Map lookup) cost time and memory.
 */
const endpointIPNames: Record<Domain, Record<ListKind, string[]>> = {
  service: { primary: [], local: [] },
  nodeport: { primary: [], local: [] },
};

/** The names of the address maps of indexes 0 to n-1 (the array may be longer; it only grows). */
function endpointIPsNames(domain: Domain, list: ListKind, n: number): readonly string[] {
  const names = endpointIPNames[domain][list];
  for (let i = names.length; i < n; i++) names.push(`${domainPrefix(domain)}${listPrefix(list)}endpoint-ips-${i}`);
  return names;
}

const endpointPortNames = { service: 'endpoint-ports', nodeport: 'nodeport-endpoint-ports' } as const;

export const sharedNames = {
  /** The maps of endpoint addresses at balancing indexes 0 to n-1, as one shared array. */
  endpointIPsList: endpointIPsNames,
  /** Map of the (single) endpoint port of each destination. */
  endpointPorts: (domain: Domain) => endpointPortNames[domain],
  /** Chain that DNATs to the endpoint at index i. */
  endpoint: (domain: Domain, list: ListKind, i: number) => `${domainPrefix(domain)}${listPrefix(list)}endpoint-${i}`,
  /** Chain that picks one of n indexes at random. */
  balance: (domain: Domain, list: ListKind, n: number) => `${domainPrefix(domain)}${listPrefix(list)}balance-${n}`,
  /** External traffic, Cluster policy: masquerade, then balance over n. */
  external: (domain: Domain, n: number) => `${domainPrefix(domain)}external-${n}`,
  /** External traffic, Local policy: nc cluster-wide endpoints, nl on this node. */
  externalLocal: (domain: Domain, nc: number, nl: number) => `${domainPrefix(domain)}external-local-${nc}-${nl}`,
};

/** kube-proxy's `ns/svc/proto/port` chain-name base; the port part is '' when unnamed. */
export function servicePortBase(sp: Pick<ServicePortIntent, 'namespace' | 'service' | 'protocol' | 'portName'>): string {
  return `${sp.namespace}/${sp.service}/${sp.protocol}/${sp.portName}`;
}

/**
 * `ip/port`; nft 1.0.6 identifiers may not contain ':' (and quoted chain names are a
 * syntax error), so IPv6 colons become '.'.
 */
function endpointPart(ep: Pick<EndpointIntent, 'ip' | 'port'>): string {
  return `${ep.ip.replaceAll(':', '.')}/${ep.port}`;
}

/** kube-proxy's chainNameBaseLengthMax: nft names hold 255 characters, prefixes included. */
const CHAIN_NAME_BASE_MAX = 240;

/** kube-proxy's hashAndTruncate: `HASH-base`, cut to 240 with "..."; chain names are `prefix-` + it. */
function hashAndTruncate(base: string): string {
  const name = `${hashPrefix(base, 8)}-${base}`;
  return name.length > CHAIN_NAME_BASE_MAX ? `${name.slice(0, CHAIN_NAME_BASE_MAX - 3)}...` : name;
}

export interface DedicatedNames {
  cluster: string;
  local: string;
  external: string;
  endpoint: (ep: Pick<EndpointIntent, 'ip' | 'port'>) => string;
}

export function dedicatedNames(sp: Pick<ServicePortIntent, 'namespace' | 'service' | 'protocol' | 'portName'>): DedicatedNames {
  const base = servicePortBase(sp);
  const name = hashAndTruncate(base);
  const endpointBase = (ep: Pick<EndpointIntent, 'ip' | 'port'>) => `${base}__${endpointPart(ep)}`;
  return {
    cluster: `service-${name}`,
    local: `local-${name}`,
    external: `external-${name}`,
    endpoint: (ep) => `endpoint-${hashAndTruncate(endpointBase(ep))}`,
  };
}

export interface AffinityNames {
  /** Checks over the cluster-wide endpoints. */
  cluster: string;
  /** Checks over this node's endpoints. */
  local: string;
  /** The external policy in front of the checks. */
  external: string;
  /** Records the chosen endpoint after DNAT. */
  record: string;
}

type AffinityKey = Pick<ServicePortIntent, 'namespace' | 'service' | 'protocol' | 'portName'>;

/** Per intent object: lowering asks once per destination and for the record chain (a SHA-256 each). */
const affinityNamesOf = new WeakMap<AffinityKey, AffinityNames>();

/** Chains of a service port with ClientIP affinity (affinity.ts). */
export function affinityNames(sp: AffinityKey): AffinityNames {
  const known = affinityNamesOf.get(sp);
  if (known) return known;
  const name = hashAndTruncate(servicePortBase(sp));
  const names = {
    cluster: `affinity-${name}`,
    local: `affinity-local-${name}`,
    external: `affinity-external-${name}`,
    record: `affinity-record-${name}`,
  };
  affinityNamesOf.set(sp, names);
  return names;
}
