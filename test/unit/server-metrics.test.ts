import { afterEach, describe, expect, it } from 'vitest';
import { createProxyMetrics, ipFamilyLabel } from '../../src/server/metrics.js';
import { MetricsServer } from '../../src/server/metrics-server.js';

const SHARED: [string, string][] = [
  ['kubeproxy_sync_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_sync_full_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_sync_partial_proxy_rules_duration_seconds', 'histogram'],
  ['kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'gauge'],
  ['kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'gauge'],
  ['kubeproxy_network_programming_duration_seconds', 'histogram'],
  ['kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'gauge'],
  ['kubeproxy_sync_proxy_rules_endpoint_changes_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_service_changes_pending', 'gauge'],
  ['kubeproxy_sync_proxy_rules_service_changes_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'gauge'],
  ['kubeproxy_proxy_healthz_total', 'counter'],
  ['kubeproxy_proxy_livez_total', 'counter'],
  ['kpx_invalid_objects', 'gauge'],
  ['kpx_apiserver_watch_restarts_total', 'counter'],
];
const IPTABLES: [string, string][] = [
  ['kubeproxy_sync_proxy_rules_iptables_restore_failures_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_iptables_total', 'gauge'],
  ['kubeproxy_sync_proxy_rules_iptables_last', 'gauge'],
];
const NFTABLES: [string, string][] = [
  ['kubeproxy_sync_proxy_rules_nftables_sync_failures_total', 'counter'],
  ['kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total', 'counter'],
];

const typeLine = ([name, type]: [string, string]): string => `# TYPE ${name} ${type}`;

describe('createProxyMetrics', () => {
  it("exports kube-proxy's iptables-mode families and kpx's own", async () => {
    const text = await createProxyMetrics({ mode: 'iptables', processMetrics: false }).registry.metrics();
    for (const m of [...SHARED, ...IPTABLES]) expect(text).toContain(typeLine(m));
    for (const [name] of NFTABLES) expect(text).not.toContain(name);
  });

  it('exports the nftables families instead in nftables mode, plus process metrics', async () => {
    const text = await createProxyMetrics({ mode: 'nftables' }).registry.metrics();
    for (const m of [...SHARED, ...NFTABLES]) expect(text).toContain(typeLine(m));
    for (const [name] of IPTABLES) expect(text).not.toContain(name);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it("uses kube-proxy's labels and buckets", async () => {
    const m = createProxyMetrics({ mode: 'iptables', processMetrics: false });
    const v4 = { ip_family: ipFamilyLabel(4) };
    m.syncProxyRulesDuration.observe(v4, 0.003);
    m.networkProgrammingDuration.observe({ ip_family: ipFamilyLabel(6) }, 0.3);
    m.iptablesRulesTotal.set({ ...v4, table: 'nat' }, 42);
    m.syncProxyRulesNoLocalEndpoints.set({ ...v4, traffic_policy: 'internal' }, 2);
    m.invalidObjects.set({ kind: 'Service' }, 3);
    m.apiserverWatchRestarts.inc();
    m.endpointChangesTotal.inc(5);
    const text = await m.registry.metrics();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001",ip_family="IPv4"} 0');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004",ip_family="IPv4"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384",ip_family="IPv4"} 1');
    expect(text).not.toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="32.768"');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="0",ip_family="IPv6"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="0.25",ip_family="IPv6"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="0.5",ip_family="IPv6"} 1');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="115",ip_family="IPv6"} 1');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="300",ip_family="IPv6"} 1');
    expect(text.match(/kubeproxy_network_programming_duration_seconds_bucket\{le="[0-9.]+"/g)).toHaveLength(81);
    expect(text).toContain('kubeproxy_sync_proxy_rules_iptables_total{ip_family="IPv4",table="nat"} 42');
    expect(text).toContain('kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="internal"} 2');
    expect(text).toContain('kpx_invalid_objects{kind="Service"} 3');
    expect(text).toContain('kpx_apiserver_watch_restarts_total 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_endpoint_changes_total 5');
  });

  it('keeps instances independent', async () => {
    const a = createProxyMetrics({ mode: 'iptables', processMetrics: false });
    const b = createProxyMetrics({ mode: 'iptables', processMetrics: false });
    a.serviceChangesTotal.inc();
    expect(await b.registry.metrics()).toContain('kubeproxy_sync_proxy_rules_service_changes_total 0');
  });
});

describe('MetricsServer', () => {
  let server: MetricsServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it('serves /metrics, /healthz, /proxyMode and /debug/ruleset', async () => {
    const metrics = createProxyMetrics({ mode: 'nftables', processMetrics: false });
    let ruleset: string | null = null;
    server = new MetricsServer({ registry: metrics.registry, mode: 'nftables', ruleset: () => ruleset }, { host: '127.0.0.1', port: 0 });
    const { port } = await server.start();
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);

    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('# TYPE kubeproxy_sync_proxy_rules_nftables_sync_failures_total counter');

    const healthz = await get('/healthz');
    expect([healthz.status, await healthz.text()]).toEqual([200, 'ok']);
    expect(await (await get('/proxyMode')).text()).toBe('nftables');

    const before = await get('/debug/ruleset');
    expect(before.status).toBe(503);
    await before.text();
    ruleset = 'table ip kpx {\n}\n';
    const after = await get('/debug/ruleset');
    expect(after.status).toBe(200);
    expect(after.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await after.text()).toBe(ruleset);

    expect((await get('/nope')).status).toBe(404);
  });

  it('reports a port in use as a start error', async () => {
    const metrics = createProxyMetrics({ mode: 'iptables', processMetrics: false });
    server = new MetricsServer({ registry: metrics.registry, mode: 'iptables', ruleset: () => null }, { host: '127.0.0.1', port: 0 });
    const { port } = await server.start();
    const clash = new MetricsServer({ registry: metrics.registry, mode: 'iptables', ruleset: () => null }, { host: '127.0.0.1', port });
    await expect(clash.start()).rejects.toThrow(/EADDRINUSE/);
    await clash.stop();
  });
});
