import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceHealthBody, ServiceHealthServer, type ServerLog } from '../../src/server/service-health.js';

/** A port that was free a moment ago (the OS hands out a fresh one each time). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function probe(port: number): Promise<{ status: number; body: string; weight: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return { status: res.status, body: await res.text(), weight: res.headers.get('x-load-balancing-endpoint-weight') };
}

function recordingLog(): ServerLog & { warnings: object[] } {
  const warnings: object[] = [];
  return { warnings, info: () => {}, warn: (obj) => warnings.push(obj) };
}

describe('serviceHealthBody', () => {
  it("is kube-proxy's tab-indented JSON", () => {
    expect(serviceHealthBody('ns1/web', 2, true)).toBe(
      '{\n\t"service": {\n\t\t"namespace": "ns1",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
    );
    expect(JSON.parse(serviceHealthBody('a/b', 0, false))).toEqual({
      service: { namespace: 'a', name: 'b' },
      localEndpoints: 0,
      serviceProxyHealthy: false,
    });
  });
});

describe('ServiceHealthServer over HTTP', () => {
  let hcs: ServiceHealthServer | null = null;
  let blocker: Server | null = null;
  afterEach(async () => {
    await hcs?.stop();
    hcs = null;
    if (blocker) await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    blocker = null;
  });

  it('answers 200 only with local endpoints and a healthy proxy', async () => {
    let proxyHealthy = true;
    hcs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], proxyHealthy: () => proxyHealthy });
    const port = await freePort();
    expect(await hcs.syncServices(new Map([['ns1/web', port]]))).toEqual([]);

    let r = await probe(port);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ service: { namespace: 'ns1', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });

    hcs.syncEndpoints(new Map([['ns1/web', 2]]));
    r = await probe(port);
    expect([r.status, r.weight]).toEqual([200, '2']);
    expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 2, serviceProxyHealthy: true });

    proxyHealthy = false;
    r = await probe(port);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 2, serviceProxyHealthy: false });

    proxyHealthy = true;
    hcs.syncEndpoints(new Map());
    expect((await probe(port)).status).toBe(503);
  });

  it('opens, keeps, moves and closes listeners as the service set changes', async () => {
    hcs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], proxyHealthy: () => true });
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    hcs.syncEndpoints(new Map([['ns/a', 1], ['ns/b', 1]]));
    await hcs.syncServices(new Map([['ns/a', p1], ['ns/b', p2]]));
    expect(hcs.openServices()).toEqual(['ns/a', 'ns/b']);
    expect((await probe(p1)).status).toBe(200); // endpoints given before the listener opened still count
    const firstA = hcs.addresses('ns/a');

    await hcs.syncServices(new Map([['ns/a', p1], ['ns/b', p3]]));
    expect(hcs.addresses('ns/a')).toEqual(firstA);
    expect((await probe(p3)).status).toBe(200);
    await expect(probe(p2)).rejects.toThrow();

    await hcs.syncServices(new Map());
    expect(hcs.openServices()).toEqual([]);
    await expect(probe(p1)).rejects.toThrow();
  });

  it('reports a port that cannot be opened, keeps serving the others, and retries later', async () => {
    const log = recordingLog();
    hcs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], proxyHealthy: () => true, log });
    const taken = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(taken, '127.0.0.1', resolve));
    const good = await freePort();

    const failures = await hcs.syncServices(new Map([['ns/blocked', taken], ['ns/ok', good]]));
    expect(failures).toEqual([{ service: 'ns/blocked', port: taken, error: expect.stringMatching(/EADDRINUSE/) }]);
    expect(log.warnings).toEqual([expect.objectContaining({ service: 'ns/blocked', port: taken })]);
    expect(hcs.openServices()).toEqual(['ns/ok']);
    expect((await probe(good)).status).toBe(503);

    await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    blocker = null;
    expect(await hcs.syncServices(new Map([['ns/blocked', taken], ['ns/ok', good]]))).toEqual([]);
    expect(hcs.openServices()).toEqual(['ns/blocked', 'ns/ok']);
  });

  it('serializes overlapping syncs and binds port 0 for tests', async () => {
    hcs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], proxyHealthy: () => true });
    const first = hcs.syncServices(new Map([['ns/x', 0]]));
    const second = hcs.syncServices(new Map([['ns/y', 0]]));
    expect(await Promise.all([first, second])).toEqual([[], []]);
    expect(hcs.openServices()).toEqual(['ns/y']);
    const [addr] = hcs.addresses('ns/y');
    expect(addr).toMatchObject({ address: '127.0.0.1' });
    hcs.syncEndpoints(new Map([['ns/y', 1]]));
    expect((await probe(addr!.port)).status).toBe(200);
  });
});
