import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/watch/backoff.js';
import { toPlainJson } from '../../src/watch/plain-json.js';
import { informerSpecs } from '../../src/watch/cluster-watch.js';

describe('Backoff', () => {
  it('doubles up to the cap, jittered into [d/2, d], and starts over after reset', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    const take = (b: Backoff, n: number) => Array.from({ length: n }, () => b.next());
    expect(take(low, 6)).toEqual([50, 100, 200, 400, 500, 500]);
    expect(take(high, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
    high.reset();
    expect(high.next()).toBe(100);
  });

  it('stays finite after very many attempts', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000 }, () => 1);
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(30_000);
  });
});

describe('toPlainJson', () => {
  it('turns Dates into API-style timestamps and drops undefined fields', () => {
    const input = {
      metadata: { name: 'a', creationTimestamp: new Date('2024-05-01T10:00:00Z'), deletionTimestamp: undefined },
      status: { conditions: [{ lastTransitionTime: new Date('2024-05-01T10:00:00.250Z') }] },
    };
    expect(toPlainJson(input)).toEqual({
      metadata: { name: 'a', creationTimestamp: '2024-05-01T10:00:00Z' },
      status: { conditions: [{ lastTransitionTime: '2024-05-01T10:00:00.250Z' }] },
    });
    expect(Object.keys((toPlainJson(input) as { metadata: object }).metadata)).toEqual(['name', 'creationTimestamp']);
  });

  it('returns plain data as it is, without copying', () => {
    const plain = JSON.parse('{"metadata":{"name":"a","labels":{"x":"y"}},"items":[1,"two",null,{"n":false}]}') as object;
    expect(toPlainJson(plain)).toBe(plain);
  });
});

describe('informerSpecs', () => {
  it('selects services like kube-proxy, all slices, and only this node', () => {
    expect(informerSpecs('node-1')).toEqual([
      {
        kind: 'Service',
        path: '/api/v1/services',
        labelSelector: '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless',
      },
      { kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
      { kind: 'Node', path: '/api/v1/nodes', fieldSelector: 'metadata.name=node-1' },
    ]);
    expect(informerSpecs('odd,name=x')[2]?.fieldSelector).toBe('metadata.name=odd\\,name\\=x');
  });
});
