import { afterEach, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../support/fake-apiserver/index.js';
import {
  NODE_NAME,
  node,
  service,
  slice,
  startWatchHarness,
  type WatchHarness,
} from '../support/fake-apiserver/watch-harness.js';

let h: WatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function syncedHarness(): Promise<WatchHarness> {
  const harness = await startWatchHarness((server) => {
    server.apply(service('keep'));
    server.apply(service('doomed'));
    server.apply(slice('keep', '10.0.2.1'));
    server.apply(slice('doomed', '10.0.2.2'));
    server.apply(node(NODE_NAME));
  });
  await expect.poll(() => harness.watch.synced()).toBe(true);
  await expect.poll(() => harness.server.openWatches).toBe(3);
  return harness;
}

const listRequests = (server: FakeApiServer) => server.requests.filter((r) => r.query.watch === undefined);

describe('cluster watch: recovery', () => {
  it('resumes a dropped watch stream from its resourceVersion without losing events', async () => {
    h = await syncedHarness();
    const listsBefore = listRequests(h.server).length;
    const rvBefore = h.server.store.rv;
    h.server.dropWatches();
    h.server.apply(service('born-while-away'));
    h.server.remove('EndpointSlice', 'default', 'doomed-abcde');
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
    await expect.poll(() => h?.server.openWatches).toBe(3);
    expect(listRequests(h.server)).toHaveLength(listsBefore);
    const resumed = h.server.requests.filter((r) => r.query.watch === 'true' && Number(r.query.resourceVersion) === rvBefore);
    expect(resumed.length).toBeGreaterThanOrEqual(3);
    h.server.apply(service('after-resume'));
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
  });

  it('backs off while the server is down, then delivers what changed meanwhile, deletions included', async () => {
    h = await syncedHarness();
    const rvBefore = h.server.store.rv;
    await h.server.stop();
    h.server.remove('Service', 'default', 'doomed');
    h.server.remove('EndpointSlice', 'default', 'doomed-abcde');
    h.server.apply(slice('keep', '10.0.2.9'));
    h.server.apply(service('born-while-away'));
    const downAt = Date.now();
    await sleep(1500);
    const retries = h.logs.filter((l) => l.msg.startsWith('watch lost; retrying in') && l.time >= downAt);
    const serviceDelays = retries.filter((l) => l.resource === 'Service').map((l) => l.retryInMs ?? -1);
    // 20 ms doubling to 200 ms, each jittered into [d/2, d]: 10–20, 20–40, 40–80, 80–160, 100–200, …
    expect(serviceDelays.length).toBeGreaterThanOrEqual(5);
    expect(serviceDelays.length).toBeLessThan(25);
    expect(serviceDelays[0]).toBeLessThanOrEqual(20);
    expect(Math.max(...serviceDelays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...serviceDelays)).toBeLessThanOrEqual(200);
    h.server.clearRequests();
    const upAt = Date.now();
    await h.server.start();
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
    expect(h.server.requests[0]?.at).toBeLessThanOrEqual(upAt + 700);
    const deleted = h.events.filter((e) => e.type === 'DELETED').map((e) => `${e.kind} ${(e.object as { metadata: { name: string } }).metadata.name}`);
    expect(deleted.sort()).toEqual(['EndpointSlice doomed-abcde', 'Service doomed']);
    expect(h.watch.restarts()).toBeGreaterThanOrEqual(3 * 5);
    // History was intact: the informers resumed their watches, no re-list was needed.
    expect(h.server.requests.filter((r) => r.query.watch === 'true').every((r) => Number(r.query.resourceVersion) >= rvBefore)).toBe(true);
    expect(listRequests(h.server)).toHaveLength(0);
  });

  it('re-lists after 410 Expired and converges, reporting deletions it missed', async () => {
    h = await syncedHarness();
    await h.server.stop();
    h.server.remove('Service', 'default', 'doomed');
    h.server.apply(service('keep', { changed: 'yes' }));
    h.server.apply(slice('fresh', '10.0.2.3'));
    h.server.expireHistory();
    h.server.clearRequests();
    await h.server.start();
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
    const serviceRequests = h.server.requests.filter((r) => r.path === '/api/v1/services');
    const firstWatch = serviceRequests.findIndex((r) => r.query.watch === 'true');
    const relist = serviceRequests.findIndex((r, i) => i > firstWatch && r.query.watch === undefined);
    expect(firstWatch).toBeGreaterThanOrEqual(0);
    expect(relist).toBeGreaterThan(firstWatch);
    expect(h.events.filter((e) => e.kind === 'Service').slice(-2).map((e) => e.type).sort()).toEqual(['DELETED', 'MODIFIED']);
    h.server.apply(service('after-relist'));
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
  });

  it('keeps its place through bookmarks', async () => {
    h = await syncedHarness();
    h.server.apply(node('node-b'));
    h.server.apply(node('node-c'));
    h.server.sendBookmarks();
    await sleep(100);
    h.server.expireHistory();
    h.server.clearRequests();
    h.server.dropWatches();
    await expect.poll(() => h?.server.openWatches).toBe(3);
    // The Node informer saw no event since node-b/node-c do not match, but the bookmark moved
    // its resourceVersion past them: it resumes instead of needing a re-list.
    expect(listRequests(h.server).filter((r) => r.path === '/api/v1/nodes')).toHaveLength(0);
    expect(h.view()).toEqual(h.expectedView());
  });

  it('makes no request after stop(), even with retries pending', async () => {
    h = await syncedHarness();
    await h.server.stop();
    await sleep(300);
    await h.watch.stop();
    const eventsAtStop = h.events.length;
    h.server.clearRequests();
    await h.server.start();
    h.server.apply(service('unseen'));
    await sleep(600);
    expect(h.server.requests).toEqual([]);
    expect(h.events).toHaveLength(eventsAtStop);
  });

  it('closes open watches on stop() and does not revive them', async () => {
    h = await syncedHarness();
    await h.watch.stop();
    await expect.poll(() => h?.server.openWatches).toBe(0);
    const eventsAtStop = h.events.length;
    h.server.clearRequests();
    h.server.apply(service('unseen'));
    h.server.dropWatches();
    await sleep(500);
    expect(h.server.requests).toEqual([]);
    expect(h.events).toHaveLength(eventsAtStop);
    expect(h.logs.filter((l) => l.msg.startsWith('watch lost'))).toEqual([]);
  });

  it('opens no watch when stopped while its list is still in flight', async () => {
    const slow = new FakeApiServer();
    slow.latencyMs = 300;
    h = await startWatchHarness((server) => server.apply(service('a')), {}, slow);
    await expect.poll(() => slow.requests.length).toBeGreaterThanOrEqual(3);
    await h.watch.stop();
    await sleep(700);
    expect(slow.requests.filter((r) => r.query.watch === 'true')).toEqual([]);
    expect(h.events).toEqual([]);
    expect(h.watch.synced()).toBe(false);
  });

  it('renews watches the server times out, without re-listing or backing off', async () => {
    h = await startWatchHarness(
      (server) => {
        server.apply(service('a'));
        server.apply(node(NODE_NAME));
      },
      { watchTimeoutSeconds: 1 },
    );
    await expect.poll(() => h?.watch.synced()).toBe(true);
    await sleep(2600);
    const watches = h.server.requests.filter((r) => r.query.watch === 'true');
    expect(watches.length).toBeGreaterThanOrEqual(6);
    expect(watches.every((r) => r.query.timeoutSeconds === '1')).toBe(true);
    expect(listRequests(h.server)).toHaveLength(3);
    expect(h.watch.restarts()).toBe(0);
    h.server.apply(service('b'));
    await expect.poll(() => h?.view()).toEqual(h.expectedView());
  });

  it('closes a watch whose response arrives after stop()', async () => {
    const slow = new FakeApiServer();
    h = await startWatchHarness((server) => server.apply(service('a')), {}, slow);
    await expect.poll(() => h?.watch.synced()).toBe(true);
    await expect.poll(() => slow.openWatches).toBe(3);
    slow.latencyMs = 300;
    slow.dropWatches();
    await expect.poll(() => slow.requests.filter((r) => r.query.watch === 'true').length).toBe(6);
    await h.watch.stop();
    await sleep(500);
    expect(slow.openWatches).toBe(0);
  });
});
