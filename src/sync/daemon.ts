/**
 * `kpx run`: watch → store → bounded-frequency runner → sync engine → dataplanes, with the
 * health, metrics and healthCheckNodePort servers around it. Never exits on its own: an API
 * server outage only delays changes (the programmed rules stay), a failed apply is retried
 * with backoff and the next sync is full.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RulesetIntent } from '../compile/intent.js';
import type { RunConfig } from '../config/run-config.js';
import type { Dataplane } from '../dataplane/types.js';
import type { IPFamily, Problem } from '../model/types.js';
import { ProxyHealth, ProxyHealthServer, type HealthNode } from '../server/health.js';
import { createProxyMetrics, ipFamilyLabel, type ProxyMetrics } from '../server/metrics.js';
import { MetricsServer } from '../server/metrics-server.js';
import { ServiceHealthServer } from '../server/service-health.js';
import { startClusterWatch, type ClusterWatch, type WatchEvent } from '../watch/index.js';
import { systemClock, type Clock } from './clock.js';
import { ClusterStore } from './cluster-store.js';
import { healthCheckPorts, localEndpointCounts, noLocalEndpointCounts } from './intent-facts.js';
import { ProgrammingLatency } from './programming-latency.js';
import { BoundedFrequencyRunner } from './runner.js';
import { SyncEngine, type FamilySync } from './sync-engine.js';

export interface DaemonOptions {
  config: RunConfig;
  kubeConfig: KubeConfig;
  logger: Logger;
  /** One per IP family this node programs. */
  dataplanes: Dataplane[];
  clock?: Clock;
  /** Runs once, after the first successful full sync: removes the other mode's leftovers. */
  afterFirstSync?: () => Promise<void>;
  /** After each successful sync of a family: clears stale conntrack entries. */
  afterSync?: (previous: RulesetIntent | null, current: RulesetIntent) => Promise<void>;
  /** Watch tuning for tests. */
  watchBackoff?: { initialMs: number; maxMs: number };
}

/**
 * Full syncs rewrite everything kpx owns; between them, syncs are partial. kube-proxy's
 * proxyutil.FullSyncPeriod: --sync-period only bounds the time between (partial) syncs.
 * A full sync of 10k services costs seconds (tens of seconds in iptables mode), so it must
 * not run every 30 s; drift is probed for every --sync-period instead.
 */
export const FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;

function problemKey(p: Problem): string {
  return `${p.kind} ${p.namespace}/${p.name}: ${p.reason}`;
}

export class Daemon {
  readonly metrics: ProxyMetrics;
  readonly health: ProxyHealth;
  private readonly store: ClusterStore;
  private readonly engine: SyncEngine;
  private readonly runner: BoundedFrequencyRunner;
  private readonly clock: Clock;
  private readonly servers: Array<{ start(): Promise<unknown>; stop(): Promise<void> }> = [];
  private readonly serviceHealth: ServiceHealthServer;
  private readonly latency = new ProgrammingLatency();
  private readonly applied = new Map<IPFamily, RulesetIntent>();
  private watch: ClusterWatch | null = null;
  private rawNode: HealthNode | null = null;
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  private firstSyncDone = false;
  private reportedProblems = new Set<string>();
  private watchRestarts = 0;
  private pendingServices = 0;
  private pendingEndpoints = 0;

  constructor(private readonly opts: DaemonOptions) {
    const { config } = opts;
    this.clock = opts.clock ?? systemClock;
    this.metrics = createProxyMetrics({ mode: config.mode });
    this.health = new ProxyHealth({ healthTimeoutMs: config.healthTimeoutMs, clock: this.clock, node: () => this.rawNode });
    this.store = new ClusterStore(config.nodeName);
    this.engine = new SyncEngine({ store: this.store, config: config.proxy, dataplanes: opts.dataplanes });
    this.runner = new BoundedFrequencyRunner(() => this.syncOnce(), {
      minIntervalMs: config.minSyncPeriodMs,
      maxIntervalMs: config.syncPeriodMs,
      retry: { initialMs: Math.min(1000, config.syncPeriodMs), maxMs: config.syncPeriodMs },
      clock: this.clock,
    });
    this.serviceHealth = new ServiceHealthServer({
      bindAddresses: [''],
      proxyHealthy: () => this.health.health().healthy,
      log: opts.logger,
    });
    if (config.healthz) {
      this.servers.push(new ProxyHealthServer(this.health, config.healthz, this.metrics));
    }
    if (config.metrics) {
      const primary = opts.dataplanes[0];
      this.servers.push(
        new MetricsServer(
          { registry: this.metrics.registry, mode: config.mode, ruleset: () => this.describeRulesets() },
          config.metrics,
        ),
      );
      if (!primary) opts.logger.warn('no dataplane: /debug/ruleset stays empty');
    }
  }

  async start(): Promise<void> {
    const { logger, config } = this.opts;
    for (const server of this.servers) {
      try {
        await server.start();
      } catch (err) {
        if (config.bindAddressHardFail) throw err;
        logger.error({ err: String(err) }, 'server could not listen; continuing without it');
      }
    }
    logger.info(
      { mode: config.mode, node: config.nodeName, families: this.opts.dataplanes.map((d) => d.family) },
      'starting: waiting for the initial lists',
    );
    this.watch = startClusterWatch({
      kubeConfig: this.opts.kubeConfig,
      nodeName: config.nodeName,
      logger,
      backoff: this.opts.watchBackoff,
      onEvent: (ev) => this.onEvent(ev),
      onSynced: () => this.runner.start(),
    });
  }

  async stop(): Promise<void> {
    await this.watch?.stop();
    await this.runner.stop();
    await this.serviceHealth.stop();
    await Promise.all(this.servers.map((s) => s.stop()));
    for (const d of this.opts.dataplanes) d.close();
  }

  private describeRulesets(): string | null {
    const texts = this.opts.dataplanes.map((d) => d.lastApplied()).filter((t): t is string => t !== null);
    return texts.length > 0 ? texts.join('\n') : null;
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.kind === 'Node') this.rawNode = ev.type === 'DELETED' ? null : (ev.object as HealthNode);
    const result = this.store.apply(ev);
    for (const p of result.problems) this.opts.logger.warn({ kind: p.kind, namespace: p.namespace, name: p.name, reason: p.reason }, 'invalid object skipped');
    if (!result.relevant) return;
    if (ev.kind === 'Service') {
      this.pendingServices++;
      this.metrics.serviceChangesTotal.inc();
    } else if (ev.kind === 'EndpointSlice') {
      this.pendingEndpoints++;
      this.metrics.endpointChangesTotal.inc();
      this.latency.record(ev.object, this.clock.now());
    }
    this.metrics.serviceChangesPending.set(this.pendingServices);
    this.metrics.endpointChangesPending.set(this.pendingEndpoints);
    for (const d of this.opts.dataplanes) {
      this.health.queuedUpdate(d.family);
      this.metrics.syncProxyRulesLastQueuedTimestamp.set({ ip_family: ipFamilyLabel(d.family) }, this.clock.now() / 1000);
    }
    if (this.watch?.synced()) this.runner.request();
  }

  private async syncOnce(): Promise<boolean> {
    const { logger, config } = this.opts;
    const started = this.clock.now();
    const fullDue = started - this.lastFullAt >= FULL_SYNC_PERIOD_MS;
    const probe = started - this.lastProbeAt >= config.syncPeriodMs;
    if (probe) this.lastProbeAt = started;
    const latency = this.latency.take();
    this.pendingServices = 0;
    this.pendingEndpoints = 0;
    this.metrics.serviceChangesPending.set(0);
    this.metrics.endpointChangesPending.set(0);

    const outcome = await this.engine.sync({ full: fullDue, probe });
    if (outcome.drift !== null) logger.warn({ drift: outcome.drift }, 'the rules kpx applied were changed by someone else; resyncing in full');
    const finished = this.clock.now();
    if (outcome.full && outcome.ok) this.lastFullAt = started;
    this.reportProblems([...this.store.currentProblems(), ...outcome.problems, ...outcome.families.flatMap((f) => f.report?.problems ?? [])]);

    for (const f of outcome.families) this.recordFamily(f, outcome.full, finished - started, latency, finished);
    const successes = outcome.families.filter((f) => f.error === null);
    if (successes.length > 0) await this.updateServiceHealth(successes.map((f) => f.intent));
    for (const f of successes) {
      const previous = this.applied.get(f.family) ?? null;
      try {
        await this.opts.afterSync?.(previous, f.intent);
        this.applied.set(f.family, f.intent);
      } catch (err) {
        // `applied` stays behind, so the next sync clears these flows again.
        logger.warn({ err: String(err), family: f.family }, 'clearing stale conntrack entries failed');
      }
    }
    this.watchRestartsMetric();
    if (outcome.ok && outcome.full && !this.firstSyncDone) {
      this.firstSyncDone = true;
      try {
        await this.opts.afterFirstSync?.();
      } catch (err) {
        logger.warn({ err: String(err) }, 'removing leftovers of the other proxy mode failed');
      }
    }
    return outcome.ok;
  }

  private recordFamily(f: FamilySync, full: boolean, elapsedMs: number, latencies: number[], now: number): void {
    const { logger, config } = this.opts;
    const ip_family = ipFamilyLabel(f.family);
    if (f.error !== null || f.report === null) {
      if (config.mode === 'iptables') {
        this.metrics.iptablesRestoreFailures.inc({ ip_family });
        if (!full) this.metrics.iptablesPartialRestoreFailures.inc({ ip_family });
      } else {
        this.metrics.nftablesSyncFailures.inc({ ip_family });
      }
      logger.error({ family: f.family, full, err: f.error?.message }, 'sync failed: the previous rules stay in place; retrying with a full sync');
      return;
    }
    const r = f.report;
    const seconds = elapsedMs / 1000;
    this.metrics.syncProxyRulesDuration.observe({ ip_family }, seconds);
    (full ? this.metrics.syncFullProxyRulesDuration : this.metrics.syncPartialProxyRulesDuration).observe({ ip_family }, seconds);
    this.metrics.syncProxyRulesLastTimestamp.set({ ip_family }, now / 1000);
    for (const ms of latencies) this.metrics.networkProgrammingDuration.observe({ ip_family }, Math.max(0, now - ms) / 1000);
    for (const [policy, count] of Object.entries(noLocalEndpointCounts(f.intent))) {
      this.metrics.syncProxyRulesNoLocalEndpoints.set({ ip_family, traffic_policy: policy }, count);
    }
    if (r.ruleCounts) {
      for (const [table, counts] of Object.entries(r.ruleCounts)) {
        this.metrics.iptablesRulesTotal.set({ ip_family, table }, counts.total);
        this.metrics.iptablesRulesLast.set({ ip_family, table }, counts.written);
      }
    }
    this.health.updated(f.family);
    logger.info(
      {
        family: f.family,
        full,
        servicePorts: f.intent.services.length,
        compileMs: Math.round(f.compileMs),
        lowerMs: Math.round(r.lowerMs),
        planMs: Math.round(r.planMs),
        renderMs: Math.round(r.renderMs),
        applyMs: Math.round(r.applyMs),
        batchBytes: r.batchBytes,
        written: r.written,
        deleted: r.deleted,
      },
      'rules synced',
    );
    if (logger.isLevelEnabled('debug')) logger.debug({ family: f.family, ruleset: this.opts.dataplanes.find((d) => d.family === f.family)?.lastApplied() }, 'applied ruleset');
  }

  private reportProblems(problems: Problem[]): void {
    const current = new Set(problems.map(problemKey));
    for (const p of problems) {
      if (!this.reportedProblems.has(problemKey(p))) {
        this.opts.logger.warn({ kind: p.kind, namespace: p.namespace, name: p.name, reason: p.reason }, 'skipped');
      }
    }
    this.reportedProblems = current;
    const byKind = new Map<string, Set<string>>();
    for (const p of problems) {
      const names = byKind.get(p.kind) ?? new Set<string>();
      names.add(`${p.namespace}/${p.name}`);
      byKind.set(p.kind, names);
    }
    this.metrics.invalidObjects.reset();
    for (const [kind, names] of byKind) this.metrics.invalidObjects.set({ kind }, names.size);
  }

  private async updateServiceHealth(intents: RulesetIntent[]): Promise<void> {
    const failures = await this.serviceHealth.syncServices(healthCheckPorts(intents));
    for (const f of failures) this.opts.logger.warn(f, 'healthCheckNodePort server could not listen');
    this.serviceHealth.syncEndpoints(localEndpointCounts(intents));
  }

  private watchRestartsMetric(): void {
    const restarts = this.watch?.restarts() ?? 0;
    if (restarts > this.watchRestarts) this.metrics.apiserverWatchRestarts.inc(restarts - this.watchRestarts);
    this.watchRestarts = restarts;
  }
}
