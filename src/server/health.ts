/**
 * The proxy health server on `/healthz` and `/livez` (kube-proxy's ProxyHealthServer,
 * pkg/proxy/healthcheck/proxy_health.go, default port 10256).
 *
 * Per IP family the sync loop reports `queuedUpdate` (a change arrived) and `updated`
 * (rules applied). A family is unhealthy when its oldest unsynced update was queued
 * `healthTimeout` (kube-proxy: 2 × syncPeriod) or more ago. One difference from
 * kube-proxy, which marks itself updated when its sync loop starts: kpx is unhealthy
 * until the first successful sync, so readiness means "rules are programmed".
 *
 * `/healthz` is also 503 when the Node is being deleted or carries the cluster
 * autoscaler's `ToBeDeletedByClusterAutoscaler` taint (so load balancers drain the node);
 * `/livez` ignores the Node. Bodies are kube-proxy's JSON.
 */
import type { Counter } from 'prom-client';
import type { IPFamily } from '../model/types.js';
import { systemClock, type Clock } from '../sync/clock.js';
import { HttpServer, pathOf, sendText, type Listen } from './http.js';
import { ipFamilyLabel } from './metrics.js';

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** The parts of a v1 Node (client-node's V1Node fits) that decide eligibility. */
export interface HealthNode {
  metadata?: { deletionTimestamp?: Date | string | null };
  spec?: { taints?: ReadonlyArray<{ key?: string }> | null };
}

/** false for no Node, a Node being deleted, or one tainted for deletion by the autoscaler. */
export function nodeEligible(node: HealthNode | null | undefined): boolean {
  if (!node) return false;
  if (node.metadata?.deletionTimestamp) return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
}

export interface FamilyHealth {
  /** ms since the epoch; null before the first successful sync. */
  lastUpdated: number | null;
  healthy: boolean;
}

export interface ProxyHealthStatus {
  healthy: boolean;
  /** The most recent successful sync of any family; null before the first. */
  lastUpdated: number | null;
  currentTime: number;
  families: ReadonlyMap<IPFamily, FamilyHealth>;
}

export interface ProxyHealthOptions {
  healthTimeoutMs: number;
  clock?: Pick<Clock, 'now'>;
  /**
   * The current Node object, as the node informer has it; null while it is unknown
   * (not eligible, as in kube-proxy). Without this option eligibility is not checked.
   */
  node?: () => HealthNode | null;
}

export class ProxyHealth {
  private readonly lastUpdated = new Map<IPFamily, number>();
  private readonly oldestQueued = new Map<IPFamily, number>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly opts: ProxyHealthOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** A change for `family` is waiting to be synced; only the oldest pending one counts. */
  queuedUpdate(family: IPFamily): void {
    if (!this.oldestQueued.has(family)) this.oldestQueued.set(family, this.clock.now());
  }

  /** `family`'s rules now reflect everything queued so far. */
  updated(family: IPFamily): void {
    this.oldestQueued.delete(family);
    this.lastUpdated.set(family, this.clock.now());
  }

  /**
   * Healthy once some family has synced and no family has an update queued for
   * `healthTimeout` or longer. A family that has not synced yet but is not late either
   * (the other family of a dual-stack node starting up) counts as healthy.
   */
  health(): ProxyHealthStatus {
    const now = this.clock.now();
    const families = new Map<IPFamily, FamilyHealth>();
    for (const family of [4, 6] as const) {
      const updated = this.lastUpdated.get(family) ?? null;
      const queued = this.oldestQueued.get(family);
      if (updated === null && queued === undefined) continue;
      const late = queued !== undefined && now - queued >= this.opts.healthTimeoutMs;
      families.set(family, { lastUpdated: updated, healthy: !late });
    }
    const synced = [...this.lastUpdated.values()];
    return {
      healthy: synced.length > 0 && [...families.values()].every((f) => f.healthy),
      lastUpdated: synced.length > 0 ? Math.max(...synced) : null,
      currentTime: now,
      families,
    };
  }

  nodeEligible(): boolean {
    return this.opts.node ? nodeEligible(this.opts.node()) : true;
  }
}

/** Go's time.Time JSON (RFC 3339, fraction trimmed, UTC); the zero time for null. */
export function goTimeJSON(ms: number | null): string {
  if (ms === null) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

export type ProbeKind = 'healthz' | 'livez';

/** The status code and kube-proxy's JSON body for one probe. */
export function probeResponse(health: ProxyHealth, kind: ProbeKind): { status: 200 | 503; body: string } {
  const h = health.health();
  const eligible = kind === 'healthz' ? health.nodeEligible() : true;
  const ok = h.healthy && eligible;
  // As kube-proxy: while healthy, lastUpdated reads "now" (older releases reported the last loop run).
  const lastUpdated = ok ? h.currentTime : h.lastUpdated;
  const status: Record<string, { lastUpdated: string; healthy: boolean }> = {};
  for (const [family, f] of h.families) status[ipFamilyLabel(family)] = { lastUpdated: goTimeJSON(f.lastUpdated), healthy: f.healthy };
  const body: Record<string, unknown> = { lastUpdated: goTimeJSON(lastUpdated), currentTime: goTimeJSON(h.currentTime) };
  if (kind === 'healthz') body.nodeEligible = eligible;
  body.healthy = h.healthy;
  if (Object.keys(status).length > 0) body.status = status;
  return { status: ok ? 200 : 503, body: JSON.stringify(body) };
}

export interface ProbeCounters {
  proxyHealthz: Counter<'code'>;
  proxyLivez: Counter<'code'>;
}

/** Serves `/healthz` and `/livez`; anything else is 404. */
export class ProxyHealthServer {
  private readonly http: HttpServer;

  constructor(health: ProxyHealth, listen: Listen, counters?: ProbeCounters) {
    this.http = new HttpServer((req, res) => {
      const path = pathOf(req);
      const kind: ProbeKind | null = path === '/healthz' ? 'healthz' : path === '/livez' ? 'livez' : null;
      if (!kind) return sendText(res, 404, '404 page not found\n');
      const { status, body } = probeResponse(health, kind);
      (kind === 'healthz' ? counters?.proxyHealthz : counters?.proxyLivez)?.inc({ code: String(status) });
      sendText(res, status, body, 'application/json');
    }, listen);
  }

  start() {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }
}
