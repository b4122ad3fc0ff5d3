import { afterEach, describe, expect, it } from 'vitest';
import { createProxyMetrics } from '../../src/server/metrics.js';
import {
  goTimeJSON,
  nodeEligible,
  probeResponse,
  ProxyHealth,
  ProxyHealthServer,
  type HealthNode,
} from '../../src/server/health.js';
import { FakeClock } from '../support/fake-clock.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 600);
const TIMEOUT = 60_000;

function setup(node: HealthNode | null = { metadata: {}, spec: { taints: [] } }) {
  const clock = new FakeClock();
  let current = node;
  const health = new ProxyHealth({
    healthTimeoutMs: TIMEOUT,
    clock: { now: () => T0 + clock.now() },
    node: () => current,
  });
  return { clock, health, setNode: (n: HealthNode | null) => (current = n) };
}

describe('ProxyHealth', () => {
  it('is unhealthy until the first successful sync', () => {
    const { health } = setup();
    expect(health.health().healthy).toBe(false);
    health.queuedUpdate(4);
    expect(health.health().healthy).toBe(false);
    health.updated(4);
    expect(health.health().healthy).toBe(true);
  });

  it('turns unhealthy when the oldest queued update waits healthTimeout without a sync', async () => {
    const { clock, health } = setup();
    health.updated(4);
    await clock.advance(1000);
    health.queuedUpdate(4);
    await clock.advance(30_000);
    health.queuedUpdate(4); // later queues do not move the deadline
    await clock.advance(TIMEOUT - 30_001);
    expect(health.health().healthy).toBe(true);
    await clock.advance(1);
    expect(health.health().healthy).toBe(false);
    health.updated(4);
    expect(health.health()).toMatchObject({ healthy: true, lastUpdated: T0 + 1000 + TIMEOUT });
  });

  it('tracks each family of a dual-stack node on its own', async () => {
    const { clock, health } = setup();
    health.updated(4);
    health.queuedUpdate(6);
    expect(health.health().healthy).toBe(true); // IPv6 still starting, not late yet
    await clock.advance(TIMEOUT);
    const h = health.health();
    expect(h.healthy).toBe(false);
    expect(h.families.get(4)).toEqual({ lastUpdated: T0, healthy: true });
    expect(h.families.get(6)).toEqual({ lastUpdated: null, healthy: false });
  });
});

describe('nodeEligible', () => {
  it.each([
    [{ metadata: {}, spec: {} }, true],
    [{ spec: { taints: [{ key: 'node.kubernetes.io/unschedulable' }] } }, true],
    [{ metadata: { deletionTimestamp: new Date(T0) } }, false],
    [{ metadata: { deletionTimestamp: '2025-01-02T03:04:05Z' } }, false],
    [{ spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler' }] } }, false],
    [null, false],
  ] as [HealthNode | null, boolean][])('%j → %s', (node, eligible) => {
    expect(nodeEligible(node)).toBe(eligible);
  });
});

describe('probe responses', () => {
  it("formats times as Go's time.Time JSON", () => {
    expect(goTimeJSON(null)).toBe('0001-01-01T00:00:00Z');
    expect(goTimeJSON(T0)).toBe('2025-01-02T03:04:05.6Z');
    expect(goTimeJSON(Date.UTC(2025, 0, 1))).toBe('2025-01-01T00:00:00Z');
  });

  it("answers kube-proxy's JSON, 503 before the first sync", () => {
    const { health } = setup();
    const r = probeResponse(health, 'healthz');
    expect(r.status).toBe(503);
    expect(r.body).toBe(
      '{"lastUpdated":"0001-01-01T00:00:00Z","currentTime":"2025-01-02T03:04:05.6Z","nodeEligible":true,"healthy":false}',
    );
  });

  it('reports lastUpdated as the current time while healthy, and per-family status', async () => {
    const { clock, health } = setup();
    health.updated(4);
    await clock.advance(2000);
    const r = probeResponse(health, 'healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      lastUpdated: '2025-01-02T03:04:07.6Z',
      currentTime: '2025-01-02T03:04:07.6Z',
      nodeEligible: true,
      healthy: true,
      status: { IPv4: { lastUpdated: '2025-01-02T03:04:05.6Z', healthy: true } },
    });
  });

  it('fails /healthz but not /livez while the node is being removed', () => {
    const { health, setNode } = setup();
    health.updated(4);
    setNode({ spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler' }] } });
    const healthz = probeResponse(health, 'healthz');
    expect(healthz.status).toBe(503);
    expect(JSON.parse(healthz.body)).toMatchObject({ nodeEligible: false, healthy: true });
    const livez = probeResponse(health, 'livez');
    expect(livez.status).toBe(200);
    expect(JSON.parse(livez.body)).not.toHaveProperty('nodeEligible');
  });

  it('does not check the node when no node source is given', () => {
    const health = new ProxyHealth({ healthTimeoutMs: TIMEOUT, clock: { now: () => T0 } });
    health.updated(6);
    expect(probeResponse(health, 'healthz').status).toBe(200);
  });
});

describe('ProxyHealthServer over HTTP', () => {
  let server: ProxyHealthServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it('serves /healthz and /livez, counts the answers, and 404s the rest', async () => {
    const { clock, health } = setup();
    const metrics = createProxyMetrics({ mode: 'iptables', processMetrics: false });
    server = new ProxyHealthServer(health, { host: '127.0.0.1', port: 0 }, metrics);
    const { port } = await server.start();
    const base = `http://127.0.0.1:${port}`;

    let res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect((await res.json()) as object).toMatchObject({ healthy: false });

    health.updated(4);
    res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    res = await fetch(`${base}/livez?verbose`);
    expect(res.status).toBe(200);

    health.queuedUpdate(4);
    await clock.advance(TIMEOUT);
    expect((await fetch(`${base}/livez`)).status).toBe(503);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);

    const text = await metrics.registry.metrics();
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="503"} 1');
  });

  it('stops cleanly and frees the port', async () => {
    const { health } = setup();
    server = new ProxyHealthServer(health, { host: '127.0.0.1', port: 0 });
    const { port } = await server.start();
    await server.stop();
    server = null;
    await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow();
    const again = new ProxyHealthServer(health, { host: '127.0.0.1', port });
    await again.start();
    await again.stop();
  });
});
