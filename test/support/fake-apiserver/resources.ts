/** The resource types the fake API server serves, and how request paths map onto them. */

export interface ResourceType {
  kind: string;
  apiVersion: string;
  /** URL prefix of the group version: `/api/v1` or `/apis/GROUP/VERSION`. */
  prefix: string;
  plural: string;
  namespaced: boolean;
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { kind: 'Service', apiVersion: 'v1', prefix: '/api/v1', plural: 'services', namespaced: true },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    prefix: '/apis/discovery.k8s.io/v1',
    plural: 'endpointslices',
    namespaced: true,
  },
  { kind: 'Node', apiVersion: 'v1', prefix: '/api/v1', plural: 'nodes', namespaced: false },
];

export function resourceTypeOfKind(kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.kind === kind);
}

export interface ResourceRequest {
  type: ResourceType;
  /** Set for `/namespaces/NS/...` paths. */
  namespace?: string;
  /** Set for a request naming one object. */
  name?: string;
}

/** Parses `PREFIX/PLURAL`, `PREFIX/PLURAL/NAME`, `PREFIX/namespaces/NS/PLURAL[/NAME]`. */
export function routeOf(pathname: string): ResourceRequest | undefined {
  for (const type of RESOURCE_TYPES) {
    if (!pathname.startsWith(type.prefix + '/')) continue;
    const rest = pathname.slice(type.prefix.length + 1).split('/').map(decodeURIComponent);
    if (rest[0] === type.plural && rest.length <= 2) {
      return rest[1] === undefined ? { type } : { type, name: rest[1] };
    }
    if (type.namespaced && rest[0] === 'namespaces' && rest[2] === type.plural && rest.length >= 3 && rest.length <= 4) {
      const namespace = rest[1] as string;
      return rest[3] === undefined ? { type, namespace } : { type, namespace, name: rest[3] };
    }
  }
  return undefined;
}
