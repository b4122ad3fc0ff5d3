/**
 * One client-node ListWatch kept alive for good. What client-node 1.4.0 (cache.js) does itself:
 * resume the watch from its resourceVersion when a stream ends cleanly; re-list on 410
 * (ERROR event or HTTP status) and then report objects missing from the new list as deleted and
 * changed ones (other resourceVersion) as updated. What it leaves to its user, done here:
 * - after any other error (refused connection, reset stream, failed list) it emits `error` and
 *   stays stopped: restart it after an exponential backoff with jitter;
 * - `stop()` makes it emit an AbortError `error` too: ignore errors once stopped, so it is not
 *   revived, and drop events still in flight;
 * - no backoff between streams that end as soon as they open: delay such reopenings;
 * - one unpaginated list: supply a paginated list function.
 */
import { ListWatch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff } from './backoff.js';
import { GuardedWatch, type WatchLifecycle } from './guarded-watch.js';
import { listAllPages } from './paged-list.js';
import { toPlainJson } from './plain-json.js';
import type { BackoffOptions, WatchedKind, WatchEvent } from './types.js';

export interface InformerSpec {
  kind: WatchedKind;
  /** Cluster-wide collection path, e.g. `/api/v1/services`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ResilientInformerOptions {
  kubeConfig: KubeConfig;
  spec: InformerSpec;
  logger: Logger;
  backoff: BackoffOptions;
  pageSize: number;
  watchTimeoutSeconds?: number;
  onEvent(ev: WatchEvent): void;
  /** Called once, when the first list has been delivered through onEvent. */
  onFirstList(): void;
}

/** A stream open at least this long counts as healthy: the backoff starts over. */
const HEALTHY_STREAM_MS = 1000;

function describeError(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err);
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = e.code ?? e.cause?.code;
  const detail = typeof code === 'string' && code !== '' ? code : e.message;
  return [e.name, detail].filter((part) => typeof part === 'string' && part !== '').join(': ') || 'error';
}

function objectName(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : String(name);
}

export class ResilientInformer {
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly listAborter = new AbortController();
  private readonly pendingSleeps = new Set<() => void>();
  private readonly inflightLists = new Set<Promise<unknown>>();
  private stopped = false;
  private listedBeforeOpen = false;
  private firstListDone = false;
  private streamEndedEarly = false;
  private connected = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartCount = 0;

  constructor(private readonly opts: ResilientInformerOptions) {
    this.backoff = new Backoff(opts.backoff);
    this.log = opts.logger.child({ resource: opts.spec.kind });
    const { path, labelSelector, fieldSelector } = opts.spec;
    const watch = new GuardedWatch(opts.kubeConfig, this.lifecycle());
    this.informer = new ListWatch(path, watch, () => this.list(), false, labelSelector, fieldSelector);
    this.informer.on('add', (obj) => this.deliver('ADDED', obj));
    this.informer.on('update', (obj) => this.deliver('MODIFIED', obj));
    this.informer.on('delete', (obj) => this.deliver('DELETED', obj));
    this.informer.on('error', (err) => this.lost(err));
  }

  start(): void {
    this.informer.start().catch((err: unknown) => this.lost(err));
  }

  restarts(): number {
    return this.restartCount;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    for (const wake of this.pendingSleeps) wake();
    this.listAborter.abort();
    await this.informer.stop();
    await Promise.allSettled([...this.inflightLists]);
  }

  private lost(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    this.connected = false;
    const delayMs = this.backoff.next();
    this.log.info({ err: describeError(err), retryInMs: delayMs }, `watch lost; retrying in ${delayMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.restartCount++;
      this.start();
    }, delayMs);
  }

  private async list(): Promise<Awaited<ReturnType<typeof listAllPages>>> {
    const { kubeConfig, spec, pageSize } = this.opts;
    const listing = listAllPages({ kubeConfig, ...spec, pageSize, signal: this.listAborter.signal });
    this.inflightLists.add(listing);
    try {
      const result = await listing;
      this.listedBeforeOpen = true;
      this.log.info({ items: result.items.length, resourceVersion: result.metadata?.resourceVersion }, 'listed');
      return result;
    } finally {
      this.inflightLists.delete(listing);
    }
  }

  private deliver(type: WatchEvent['type'], obj: KubernetesObject): void {
    if (this.stopped) return;
    this.log.debug({ type, name: objectName(obj), resourceVersion: obj.metadata?.resourceVersion }, 'event');
    try {
      this.opts.onEvent({ kind: this.opts.spec.kind, type, object: toPlainJson(obj) });
    } catch (err) {
      this.log.error({ err: describeError(err), name: objectName(obj) }, 'event handler threw');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.pendingSleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pendingSleeps.add(wake);
    });
  }

  private lifecycle(): WatchLifecycle {
    return {
      stopped: () => this.stopped,
      opening: () => {
        // ListWatch opens the watch right after delivering a list's items (cache.js doneHandler).
        if (!this.listedBeforeOpen) return;
        this.listedBeforeOpen = false;
        if (this.firstListDone || this.stopped) return;
        this.firstListDone = true;
        this.opts.onFirstList();
      },
      delayBeforeOpen: async () => {
        if (!this.streamEndedEarly || this.stopped) return;
        this.streamEndedEarly = false;
        const delayMs = this.backoff.next();
        this.log.info({ retryInMs: delayMs }, `watch stream ended early; reopening in ${delayMs} ms`);
        await this.sleep(delayMs);
      },
      connected: () => {
        if (this.connected || this.stopped) return;
        this.connected = true;
        this.log.info({ resourceVersion: this.informer.latestResourceVersion() }, 'watch connected');
      },
      ended: (err, openMs) => {
        if (openMs >= HEALTHY_STREAM_MS) this.backoff.reset();
        if (err !== null && err !== undefined) return;
        this.streamEndedEarly = openMs < HEALTHY_STREAM_MS;
        this.log.debug({ openMs }, 'watch stream ended; resuming');
      },
      timeoutSeconds: () => this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
    };
  }
}
