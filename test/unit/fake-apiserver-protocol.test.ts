import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApiServer, type FakeObject } from '../support/fake-apiserver/index.js';

const svc = (name: string, labels: Record<string, string> = {}, ns = 'default'): FakeObject => ({
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec: { clusterIP: '10.0.0.1', ports: [{ port: 80, protocol: 'TCP' }] },
});

interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string };
  items: FakeObject[];
}
interface Event {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string } };
}

let server: FakeApiServer;

beforeEach(async () => {
  server = new FakeApiServer({ historyLimit: 50 });
  await server.start();
});
afterEach(async () => {
  await server.stop();
});

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(server.url + path);
  return { status: res.status, body: await res.json() };
}

/** Opens a watch and collects its events until `count` arrived or the stream ended. */
async function watchEvents(path: string, count: number, during?: () => void): Promise<{ events: Event[]; ended: boolean }> {
  const controller = new AbortController();
  const res = await fetch(server.url + path, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Event[] = [];
  let buffered = '';
  let ended = false;
  during?.();
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    buffered += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buffered.slice(0, nl)) as Event);
      buffered = buffered.slice(nl + 1);
    }
  }
  controller.abort();
  return { events, ended };
}

describe('fake API server: lists', () => {
  it('lists with a resourceVersion, items sorted, kind on the list only', async () => {
    server.apply(svc('b'));
    server.apply(svc('a', {}, 'zz'));
    server.apply(svc('a'));
    const { status, body } = await getJson('/api/v1/services');
    const list = body as ListBody;
    expect(status).toBe(200);
    expect(list.kind).toBe('ServiceList');
    expect(list.metadata.resourceVersion).toBe(String(server.store.rv));
    expect(list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['default/a', 'default/b', 'zz/a']);
    expect(list.items[0]).not.toHaveProperty('kind');
    expect(Number(list.items[2]?.metadata.resourceVersion)).toBeLessThan(Number(list.items[0]?.metadata.resourceVersion));
  });

  it('serves namespaced paths and single objects', async () => {
    server.apply(svc('a', {}, 'one'));
    server.apply(svc('b', {}, 'two'));
    const list = (await getJson('/api/v1/namespaces/two/services')).body as ListBody;
    expect(list.items.map((i) => i.metadata.name)).toEqual(['b']);
    expect((await getJson('/api/v1/namespaces/one/services/a')).status).toBe(200);
    expect((await getJson('/api/v1/namespaces/one/services/b')).status).toBe(404);
    expect((await getJson('/api/v1/pods')).status).toBe(404);
  });

  it('filters by label selector (exists, not exists, equality, AND)', async () => {
    server.apply(svc('plain'));
    server.apply(svc('proxied-elsewhere', { 'service.kubernetes.io/service-proxy-name': 'other' }));
    server.apply(svc('headless', { 'service.kubernetes.io/headless': '' }));
    server.apply(svc('tier-web', { tier: 'web' }));
    server.apply(svc('tier-db', { tier: 'db' }));
    const names = async (selector: string) =>
      ((await getJson(`/api/v1/services?labelSelector=${encodeURIComponent(selector)}`)).body as ListBody).items.map(
        (i) => i.metadata.name,
      );
    expect(await names('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless')).toEqual([
      'plain',
      'tier-db',
      'tier-web',
    ]);
    expect(await names('tier')).toEqual(['tier-db', 'tier-web']);
    expect(await names('tier=web')).toEqual(['tier-web']);
    expect(await names('tier!=web,!service.kubernetes.io/headless')).toEqual(['plain', 'proxied-elsewhere', 'tier-db']);
    expect(await names('tier in (db,web),tier notin (db)')).toEqual(['tier-web']);
    expect((await getJson('/api/v1/services?labelSelector=%3D%3Dbad')).status).toBe(400);
  });

  it('filters nodes by field selector metadata.name', async () => {
    server.apply({ kind: 'Node', metadata: { name: 'node-a' } });
    server.apply({ kind: 'Node', metadata: { name: 'node-b' } });
    const list = (await getJson('/api/v1/nodes?fieldSelector=metadata.name%3Dnode-b')).body as ListBody;
    expect(list.items.map((i) => i.metadata.name)).toEqual(['node-b']);
    expect(list.items[0]?.metadata).not.toHaveProperty('namespace');
    expect((await getJson('/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue')).status).toBe(400);
  });

  it('paginates over a consistent snapshot with limit and continue', async () => {
    for (let i = 0; i < 5; i++) server.apply(svc(`s${i}`));
    const first = (await getJson('/api/v1/services?limit=2')).body as ListBody;
    expect(first.items.map((i) => i.metadata.name)).toEqual(['s0', 's1']);
    expect(first.metadata.continue).toBeTruthy();
    server.apply(svc('s1a'));
    server.remove('Service', 'default', 's4');
    const second = (await getJson(`/api/v1/services?limit=2&continue=${first.metadata.continue}`)).body as ListBody;
    const third = (await getJson(`/api/v1/services?limit=2&continue=${second.metadata.continue}`)).body as ListBody;
    expect(second.items.map((i) => i.metadata.name)).toEqual(['s2', 's3']);
    expect(third.items.map((i) => i.metadata.name)).toEqual(['s4']);
    expect(third.metadata.continue).toBeUndefined();
    expect(third.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('answers an expired continue token with HTTP 410 Expired', async () => {
    for (let i = 0; i < 3; i++) server.apply(svc(`s${i}`));
    const first = (await getJson('/api/v1/services?limit=1')).body as ListBody;
    server.apply(svc('later'));
    server.expireHistory();
    const { status, body } = await getJson(`/api/v1/services?limit=1&continue=${first.metadata.continue}`);
    expect(status).toBe(410);
    expect(body).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });
});

describe('fake API server: watches', () => {
  it('replays events after the requested RV, then streams live ones', async () => {
    server.apply(svc('a'));
    const rv = server.store.rv;
    server.apply(svc('b'));
    server.apply({ ...svc('a'), spec: { clusterIP: '10.0.0.2' } });
    const { events } = await watchEvents(`/api/v1/services?watch=true&resourceVersion=${rv}`, 3, () => {
      server.remove('Service', 'default', 'b');
    });
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b']);
    expect(events[0]?.object.kind).toBe('Service');
    expect(Number(events[2]?.object.metadata?.resourceVersion)).toBe(server.store.rv);
  });

  it('sends the current state as ADDED to a watch without a resourceVersion', async () => {
    server.apply(svc('a'));
    server.apply(svc('b'));
    const { events } = await watchEvents('/api/v1/services?watch=1', 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED a', 'ADDED b']);
  });

  it('turns a selector match change into ADDED or DELETED', async () => {
    server.apply(svc('a'));
    const rv = server.store.rv;
    server.apply(svc('a', { 'service.kubernetes.io/headless': '' }));
    server.apply(svc('a'));
    const { events } = await watchEvents(`/api/v1/services?watch=true&resourceVersion=${rv}&labelSelector=!service.kubernetes.io/headless`, 2);
    expect(events.map((e) => e.type)).toEqual(['DELETED', 'ADDED']);
  });

  it('sends ERROR with a 410 Expired Status for a compacted RV, then closes', async () => {
    server.apply(svc('a'));
    const rv = server.store.rv;
    server.apply(svc('b'));
    server.expireHistory();
    const { events, ended } = await watchEvents(`/api/v1/services?watch=true&resourceVersion=${rv}`, 5);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(ended).toBe(true);
  });

  it('expires RVs that fell out of the bounded history', async () => {
    const small = new FakeApiServer({ historyLimit: 2 });
    await small.start();
    try {
      small.apply(svc('a'));
      const rv = small.store.rv;
      for (let i = 0; i < 3; i++) small.apply(svc(`n${i}`));
      const res = await fetch(`${small.url}/api/v1/services?watch=true&resourceVersion=${rv}`);
      const text = await res.text();
      expect(JSON.parse(text.trim())).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    } finally {
      await small.stop();
    }
  });

  it('sends bookmarks only to watches that allow them, and ends streams on dropWatches', async () => {
    const rv = server.store.rv;
    const withBookmarks = watchEvents(`/api/v1/services?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, 2);
    const without = watchEvents(`/api/v1/services?watch=true&resourceVersion=${rv}`, 2);
    await expect.poll(() => server.openWatches).toBe(2);
    server.sendBookmarks();
    server.dropWatches();
    const [a, b] = await Promise.all([withBookmarks, without]);
    expect(a.events).toEqual([{ type: 'BOOKMARK', object: { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } }]);
    expect(a.ended).toBe(true);
    expect(b.events).toEqual([]);
    expect(b.ended).toBe(true);
  });

  it('ends a watch after timeoutSeconds', async () => {
    const started = Date.now();
    const { ended } = await watchEvents(`/api/v1/services?watch=true&resourceVersion=${server.store.rv}&timeoutSeconds=1`, 1);
    expect(ended).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('fake API server: test controls', () => {
  it('refuses connections while stopped and comes back on the same port', async () => {
    const url = server.url;
    await server.stop();
    await expect(fetch(url + '/api/v1/nodes')).rejects.toThrow();
    await server.start();
    expect(server.url).toBe(url);
    expect((await fetch(url + '/api/v1/nodes')).status).toBe(200);
  });

  it('logs requests with their query, and delays responses by latencyMs', async () => {
    server.latencyMs = 150;
    const started = Date.now();
    await getJson('/api/v1/services?limit=7&labelSelector=a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/services', query: { limit: '7', labelSelector: 'a' } });
  });
});
