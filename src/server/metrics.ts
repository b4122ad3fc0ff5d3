/**
 * kube-proxy's metrics (pkg/proxy/metrics/metrics.go, v1.33+: `ip_family` labels), with
 * the same names, types, labels and buckets, so dashboards and alerts written for
 * kube-proxy keep working; plus kpx's own `kpx_*` metrics and Node's process metrics.
 *
 * As in kube-proxy, the iptables-only and nftables-only families are registered only in
 * their mode. Every instrument exists in both modes, so the daemon can call any of them;
 * an unregistered one is simply not exported. The pure core never imports this file.
 */
import { collectDefaultMetrics, Counter, exponentialBuckets, Gauge, Histogram, linearBuckets, Registry, type Metric } from 'prom-client';
import type { IPFamily } from '../model/types.js';
import type { ProxyMode } from '../config/checks.js';

/** kube-proxy's `ip_family` label values (v1.IPFamily). */
export type IPFamilyLabel = 'IPv4' | 'IPv6';

export function ipFamilyLabel(family: IPFamily): IPFamilyLabel {
  return family === 4 ? 'IPv4' : 'IPv6';
}

const SUBSYSTEM = 'kubeproxy';
const name = (n: string): string => `${SUBSYSTEM}_${n}`;

/** 1 ms … 16.384 s, doubling (kube-proxy's sync latency buckets). */
const SYNC_BUCKETS = exponentialBuckets(0.001, 2, 15);

/**
 * component-base's MergeBuckets starts from a 0 bucket; then 0.25 s, 0.5 s, 1–59 s,
 * 60–115 s by 5 s, 2–5 min by 30 s.
 */
const NETWORK_PROGRAMMING_BUCKETS = [
  0,
  ...linearBuckets(0.25, 0.25, 2),
  ...linearBuckets(1, 1, 59),
  ...linearBuckets(60, 5, 12),
  ...linearBuckets(120, 30, 7),
];

export interface ProxyMetrics {
  registry: Registry;
  /** Every sync, full or partial. */
  syncProxyRulesDuration: Histogram<'ip_family'>;
  syncFullProxyRulesDuration: Histogram<'ip_family'>;
  syncPartialProxyRulesDuration: Histogram<'ip_family'>;
  /** Unix seconds of the last successful sync. */
  syncProxyRulesLastTimestamp: Gauge<'ip_family'>;
  /** Unix seconds of the last time a sync was requested. */
  syncProxyRulesLastQueuedTimestamp: Gauge<'ip_family'>;
  /** From an EndpointSlice's `endpoints.kubernetes.io/last-change-trigger-time` to its rules being applied. */
  networkProgrammingDuration: Histogram<'ip_family'>;
  endpointChangesPending: Gauge;
  endpointChangesTotal: Counter;
  serviceChangesPending: Gauge;
  serviceChangesTotal: Counter;
  /** Services with a Local policy (`traffic_policy` internal|external) and no local endpoints. */
  syncProxyRulesNoLocalEndpoints: Gauge<'ip_family' | 'traffic_policy'>;
  proxyHealthz: Counter<'code'>;
  proxyLivez: Counter<'code'>;
  /** iptables mode only. */
  iptablesRestoreFailures: Counter<'ip_family'>;
  iptablesPartialRestoreFailures: Counter<'ip_family'>;
  /** Rules kpx owns, per table (`filter`, `nat`). */
  iptablesRulesTotal: Gauge<'ip_family' | 'table'>;
  /** Rules written by the last sync, per table. */
  iptablesRulesLast: Gauge<'ip_family' | 'table'>;
  /** nftables mode only. */
  nftablesSyncFailures: Counter<'ip_family'>;
  nftablesCleanupFailures: Counter<'ip_family'>;
  /** kpx: objects currently skipped as invalid, by kind (Service, EndpointSlice, ...). */
  invalidObjects: Gauge<'kind'>;
  /** kpx: informer watches restarted (stream ended, 410 Gone, errors). */
  apiserverWatchRestarts: Counter;
}

export interface MetricsOptions {
  mode: ProxyMode;
  /** Node's process and runtime metrics (`process_*`, `nodejs_*`); default true. */
  processMetrics?: boolean;
}

export function createProxyMetrics(options: MetricsOptions): ProxyMetrics {
  const registry = new Registry();
  const histogram = <L extends string>(n: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> =>
    new Histogram<L>({ name: n, help, labelNames, buckets, registers: [] });
  const gauge = <L extends string>(n: string, help: string, labelNames: L[]): Gauge<L> =>
    new Gauge<L>({ name: n, help, labelNames, registers: [] });
  const counter = <L extends string>(n: string, help: string, labelNames: L[]): Counter<L> =>
    new Counter<L>({ name: n, help, labelNames, registers: [] });

  const m: ProxyMetrics = {
    registry,
    syncProxyRulesDuration: histogram(name('sync_proxy_rules_duration_seconds'), 'SyncProxyRules latency in seconds', ['ip_family'], SYNC_BUCKETS),
    syncFullProxyRulesDuration: histogram(name('sync_full_proxy_rules_duration_seconds'), 'SyncProxyRules latency in seconds for full resyncs', ['ip_family'], SYNC_BUCKETS),
    syncPartialProxyRulesDuration: histogram(name('sync_partial_proxy_rules_duration_seconds'), 'SyncProxyRules latency in seconds for partial resyncs', ['ip_family'], SYNC_BUCKETS),
    syncProxyRulesLastTimestamp: gauge(name('sync_proxy_rules_last_timestamp_seconds'), 'The last time proxy rules were successfully synced', ['ip_family']),
    syncProxyRulesLastQueuedTimestamp: gauge(name('sync_proxy_rules_last_queued_timestamp_seconds'), 'The last time a sync of proxy rules was queued', ['ip_family']),
    networkProgrammingDuration: histogram(name('network_programming_duration_seconds'), 'In Cluster Network Programming Latency in seconds', ['ip_family'], NETWORK_PROGRAMMING_BUCKETS),
    endpointChangesPending: gauge(name('sync_proxy_rules_endpoint_changes_pending'), 'Pending proxy rules Endpoint changes', []),
    endpointChangesTotal: counter(name('sync_proxy_rules_endpoint_changes_total'), 'Cumulative proxy rules Endpoint changes', []),
    serviceChangesPending: gauge(name('sync_proxy_rules_service_changes_pending'), 'Pending proxy rules Service changes', []),
    serviceChangesTotal: counter(name('sync_proxy_rules_service_changes_total'), 'Cumulative proxy rules Service changes', []),
    syncProxyRulesNoLocalEndpoints: gauge(name('sync_proxy_rules_no_local_endpoints_total'), 'Number of services with a Local traffic policy and no endpoints', ['ip_family', 'traffic_policy']),
    proxyHealthz: counter(name('proxy_healthz_total'), 'Cumulative proxy healthz HTTP status', ['code']),
    proxyLivez: counter(name('proxy_livez_total'), 'Cumulative proxy livez HTTP status', ['code']),
    iptablesRestoreFailures: counter(name('sync_proxy_rules_iptables_restore_failures_total'), 'Cumulative proxy iptables restore failures', ['ip_family']),
    iptablesPartialRestoreFailures: counter(name('sync_proxy_rules_iptables_partial_restore_failures_total'), 'Cumulative proxy iptables partial restore failures', ['ip_family']),
    iptablesRulesTotal: gauge(name('sync_proxy_rules_iptables_total'), 'Total number of iptables rules owned by kube-proxy', ['ip_family', 'table']),
    iptablesRulesLast: gauge(name('sync_proxy_rules_iptables_last'), 'Number of iptables rules written by kube-proxy in last sync', ['ip_family', 'table']),
    nftablesSyncFailures: counter(name('sync_proxy_rules_nftables_sync_failures_total'), 'Cumulative proxy nftables sync failures', ['ip_family']),
    nftablesCleanupFailures: counter(name('sync_proxy_rules_nftables_cleanup_failures_total'), 'Cumulative proxy nftables cleanup failures', ['ip_family']),
    invalidObjects: gauge('kpx_invalid_objects', 'Objects currently skipped because they are invalid, by kind', ['kind']),
    apiserverWatchRestarts: counter('kpx_apiserver_watch_restarts_total', 'Watches on the API server that were restarted', []),
  };

  const iptablesOnly: Metric[] = [m.iptablesRestoreFailures, m.iptablesPartialRestoreFailures, m.iptablesRulesTotal, m.iptablesRulesLast];
  const nftablesOnly: Metric[] = [m.nftablesSyncFailures, m.nftablesCleanupFailures];
  const shared: Metric[] = [
    m.syncProxyRulesDuration,
    m.syncFullProxyRulesDuration,
    m.syncPartialProxyRulesDuration,
    m.syncProxyRulesLastTimestamp,
    m.syncProxyRulesLastQueuedTimestamp,
    m.networkProgrammingDuration,
    m.endpointChangesPending,
    m.endpointChangesTotal,
    m.serviceChangesPending,
    m.serviceChangesTotal,
    m.syncProxyRulesNoLocalEndpoints,
    m.proxyHealthz,
    m.proxyLivez,
    m.invalidObjects,
    m.apiserverWatchRestarts,
  ];
  for (const metric of [...shared, ...(options.mode === 'iptables' ? iptablesOnly : nftablesOnly)]) {
    registry.registerMetric(metric);
  }
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return m;
}
