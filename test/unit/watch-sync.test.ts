import { afterEach, describe, expect, it } from 'vitest';
import {
  NODE_NAME,
  node,
  service,
  slice,
  startWatchHarness,
  type WatchHarness,
} from '../support/fake-apiserver/watch-harness.js';
import type { FakeApiServer } from '../support/fake-apiserver/index.js';

let h: WatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function seedCluster(server: FakeApiServer): void {
  server.apply(service('web'));
  server.apply(service('api', {}, 'prod'));
  server.apply(service('other-proxy', { 'service.kubernetes.io/service-proxy-name': 'someone-else' }));
  server.apply(service('headless', { 'service.kubernetes.io/headless': '' }));
  server.apply(slice('web', '10.0.1.1'));
  server.apply(slice('api', '10.0.1.2', 'x1', 'prod'));
  server.apply(slice('api', '10.0.1.3', 'x2', 'prod'));
  server.apply(node(NODE_NAME));
  server.apply(node('node-b'));
}

describe('cluster watch: initial sync', () => {
  it('delivers every watched object as ADDED, then calls onSynced once', async () => {
    h = await startWatchHarness(seedCluster);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    expect(h.view()).toEqual(h.expectedView());
    expect(Object.keys(h.view())).toEqual([
      'EndpointSlice default/web-abcde',
      'EndpointSlice prod/api-x1',
      'EndpointSlice prod/api-x2',
      `Node /${NODE_NAME}`,
      'Service default/web',
      'Service prod/api',
    ]);
    expect(h.eventsAtSync()).toBe(6);
    expect(h.events.every((e) => e.type === 'ADDED')).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.syncCalls()).toBe(1);
  });

  it('gives listed objects the watch shape: kind, apiVersion, string timestamps', async () => {
    h = await startWatchHarness(seedCluster);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    const listed = h.events.find((e) => e.kind === 'EndpointSlice')?.object as Record<string, unknown>;
    expect(listed).toMatchObject({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', addressType: 'IPv4' });
    expect(typeof (listed.metadata as { creationTimestamp: unknown }).creationTimestamp).toBe('string');
    h.server.apply(slice('web', '10.0.1.9'));
    await expect.poll(() => h?.events.length).toBe(7);
    const watched = h.events[6]?.object as Record<string, unknown>;
    expect(Object.keys(watched).sort()).toEqual(Object.keys(listed).sort());
  });

  it('pages lists with limit and continue, using the selectors', async () => {
    h = await startWatchHarness(seedCluster);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    const lists = h.server.requests.filter((r) => r.query.watch === undefined);
    const sliceLists = lists.filter((r) => r.path === '/apis/discovery.k8s.io/v1/endpointslices');
    expect(sliceLists.map((r) => [r.query.limit, r.query.continue !== undefined])).toEqual([
      ['2', false],
      ['2', true],
    ]);
    const serviceList = lists.find((r) => r.path === '/api/v1/services');
    expect(serviceList?.query.labelSelector).toBe('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
    const nodeWatch = h.server.requests.find((r) => r.path === '/api/v1/nodes' && r.query.watch === 'true');
    expect(nodeWatch?.query).toMatchObject({ fieldSelector: `metadata.name=${NODE_NAME}`, allowWatchBookmarks: 'true' });
  });

  it('restarts a paginated list whose continue token expired, and still syncs once', async () => {
    let expired = false;
    h = await startWatchHarness((server) => {
      seedCluster(server);
      server.onRequest = (req) => {
        if (!expired && req.query.continue !== undefined && req.path.endsWith('/endpointslices')) {
          expired = true;
          server.apply(slice('late', '10.0.1.50'));
          server.expireHistory();
        }
      };
    });
    await expect.poll(() => h?.watch.synced()).toBe(true);
    const sliceLists = h.server.requests.filter((r) => r.path.endsWith('/endpointslices') && r.query.watch === undefined);
    expect(sliceLists.map((r) => r.query.continue !== undefined)).toEqual([false, true, false, true]);
    expect(h.view()).toEqual(h.expectedView());
    expect(h.view()).toHaveProperty(['EndpointSlice default/late-abcde']);
    expect(h.watch.restarts()).toBe(0);
  });
});

describe('cluster watch: changes', () => {
  it('propagates adds, modifications and deletions', async () => {
    h = await startWatchHarness(seedCluster);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    const before = h.events.length;
    h.server.apply(service('new'));
    h.server.apply({ ...slice('web', '10.0.1.7') });
    h.server.remove('Service', 'prod', 'api');
    h.server.apply(node(NODE_NAME, { 'topology.kubernetes.io/zone': 'z1' }));
    await expect.poll(() => h?.events.length).toBe(before + 4);
    // Each resource has its own stream: order holds within a kind, not across kinds.
    expect(h.events.slice(before).map((e) => `${e.type} ${e.kind}`)).toEqual(
      expect.arrayContaining(['ADDED Service', 'MODIFIED EndpointSlice', 'DELETED Service', 'MODIFIED Node']),
    );
    expect(h.events.slice(before).filter((e) => e.kind === 'Service').map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    expect(h.view()).toEqual(h.expectedView());
  });

  it('never shows excluded services or other nodes, and drops a service that becomes headless', async () => {
    h = await startWatchHarness(seedCluster);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    const before = h.events.length;
    h.server.apply(service('other-proxy-2', { 'service.kubernetes.io/service-proxy-name': 'x' }));
    h.server.apply(node('node-b', { changed: 'yes' }));
    h.server.apply(service('web', { 'service.kubernetes.io/headless': '' }));
    h.server.apply(service('marker'));
    h.server.apply(node(NODE_NAME, { marker: 'yes' }));
    await expect.poll(() => h?.events.length).toBe(before + 3);
    const seen = (kind: string) =>
      h?.events
        .slice(before)
        .filter((e) => e.kind === kind)
        .map((e) => `${e.type} ${(e.object as { metadata: { name: string } }).metadata.name}`);
    expect(seen('Service')).toEqual(['DELETED web', 'ADDED marker']);
    expect(seen('Node')).toEqual([`MODIFIED ${NODE_NAME}`]);
    expect(h.events.some((e) => e.kind === 'Node' && (e.object as { metadata: { name: string } }).metadata.name !== NODE_NAME)).toBe(false);
  });

  it('keeps delivering after the consumer throws', async () => {
    let calls = 0;
    h = await startWatchHarness(seedCluster, {
      onEvent: () => {
        calls++;
        throw new Error('consumer bug');
      },
      onSynced: () => undefined,
    });
    await expect.poll(() => h?.watch.synced()).toBe(true);
    h.server.apply(service('after'));
    await expect.poll(() => calls).toBe(7);
    expect(h.logs.some((l) => l.msg === 'event handler threw')).toBe(true);
  });
});
