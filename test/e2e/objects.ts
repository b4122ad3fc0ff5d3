/** Kubernetes objects for the daemon's end-to-end tests, as an API server would store them. */
import type { FakeObject } from '../support/fake-apiserver/index.js';

export function node(name: string, ip: string): FakeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}

export function service(name: string, clusterIP: string, port: number, targetPort: number): FakeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ports: [{ port, targetPort, protocol: 'TCP' }],
    },
  };
}

export function endpointSlice(serviceName: string, name: string, endpoints: Array<{ ip: string; nodeName: string }>, port: number): FakeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: [{ port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.nodeName,
      conditions: { ready: true, serving: true, terminating: false },
    })),
  };
}
