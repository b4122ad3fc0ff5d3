/**
 * An HTTP server speaking the Kubernetes list/watch protocol for Services, EndpointSlices and
 * Nodes, for tests that drive the real @kubernetes/client-node informers against it.
 *
 * Protocol points kept faithful: lists carry `metadata.resourceVersion` and omit kind/apiVersion
 * on items; `limit`/`continue` paginate over a consistent snapshot; a watch replays history after
 * the requested RV, one JSON event per line, chunked; a watch from a compacted RV gets a 200 with
 * one ERROR event holding a 410 `Expired` Status and is then closed; a stale continue token gets
 * HTTP 410; a watch whose selector stops (starts) matching an object sees DELETED (ADDED).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseFieldSelector, parseLabelSelector, type FakeObject, type Selector } from './selectors.js';
import { routeOf, type ResourceRequest, type ResourceType } from './resources.js';
import { ObjectStore, type StoredEvent } from './store.js';

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FakeApiServerOptions {
  /** Change events kept for watch replay (default 1000). */
  historyLimit?: number;
}

interface Watcher {
  type: ResourceType;
  namespace: string | undefined;
  matches: Selector;
  bookmarks: boolean;
  res: http.ServerResponse;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function encodeContinue(id: string, offset: number, rv: number): string {
  return Buffer.from(JSON.stringify({ id, offset, rv })).toString('base64url');
}

function decodeContinue(token: string): { id: string; offset: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as { id?: unknown; offset?: unknown };
    if (typeof parsed.id === 'string' && typeof parsed.offset === 'number') return { id: parsed.id, offset: parsed.offset };
  } catch {
    /* falls through to undefined */
  }
  return undefined;
}

const withoutTypeMeta = (o: FakeObject): FakeObject => {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = o;
  return rest as FakeObject;
};

export class FakeApiServer {
  readonly store: ObjectStore;
  readonly requests: LoggedRequest[] = [];
  /** Added before every response (ms). */
  latencyMs = 0;
  /** Called synchronously as each request arrives, before latency and handling. */
  onRequest: ((req: LoggedRequest) => void) | undefined;
  private readonly http: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private port = 0;
  private listening = false;

  constructor(opts: FakeApiServerOptions = {}) {
    this.store = new ObjectStore(opts.historyLimit ?? 1000);
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:40123`. Valid after the first `start()`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1: an OS-chosen port the first time, the same port after a `stop()`. */
  async start(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.port, '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    this.listening = true;
  }

  /** Simulates an outage: open connections are cut and new ones are refused until `start()`. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  apply(obj: FakeObject): FakeObject {
    const event = this.store.apply(obj);
    this.broadcast(event);
    return event.object;
  }

  remove(kind: string, namespace: string, name: string): boolean {
    const event = this.store.remove(kind, namespace, name);
    if (event) this.broadcast(event);
    return event !== undefined;
  }

  /** Ends every open watch stream cleanly, as the API server does when a watch times out. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Compacts all history: watches and continue tokens from older RVs now get 410 Expired. */
  expireHistory(): void {
    this.store.expireHistory();
  }

  /** Sends a BOOKMARK at the current RV to every watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const object = { kind: w.type.kind, apiVersion: w.type.apiVersion, metadata: { resourceVersion: String(this.store.rv) } };
      this.write(w, 'BOOKMARK', object);
    }
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const logged: LoggedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      at: Date.now(),
    };
    this.requests.push(logged);
    this.onRequest?.(logged);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (res.destroyed || !this.listening) return void res.destroy();
    const route = routeOf(url.pathname);
    if (req.method !== 'GET') return this.sendJson(res, 405, status(405, 'MethodNotAllowed', 'only GET is served'));
    if (!route) return this.sendJson(res, 404, status(404, 'NotFound', `no resource at ${url.pathname}`));
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    if (!labels.ok) return this.sendJson(res, 400, status(400, 'BadRequest', labels.message));
    if (!fields.ok) return this.sendJson(res, 400, status(400, 'BadRequest', fields.message));
    const inScope = (o: FakeObject) =>
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      (route.name === undefined || o.metadata.name === route.name);
    const matches: Selector = (o) => inScope(o) && labels.match(o) && fields.match(o);
    const watch = url.searchParams.get('watch');
    if (watch === 'true' || watch === '1') return this.serveWatch(route, url.searchParams, matches, res);
    if (route.name !== undefined) return this.serveGet(route, res);
    return this.serveList(route, url.searchParams, matches, res);
  }

  private serveGet(route: ResourceRequest, res: http.ServerResponse): void {
    const found = this.store.list(route.type.kind).find(
      (o) => o.metadata.name === route.name && (o.metadata.namespace ?? '') === (route.namespace ?? ''),
    );
    if (!found) return this.sendJson(res, 404, status(404, 'NotFound', `${route.type.plural} "${route.name}" not found`));
    this.sendJson(res, 200, found);
  }

  private serveList(route: ResourceRequest, q: URLSearchParams, matches: Selector, res: http.ServerResponse): void {
    const limit = Number(q.get('limit') ?? '0');
    const token = q.get('continue');
    let rv: number;
    let items: FakeObject[];
    let offset = 0;
    let snapshotId: string | undefined;
    if (token) {
      const decoded = decodeContinue(token);
      if (!decoded) return this.sendJson(res, 400, status(400, 'BadRequest', 'continue token is not valid'));
      const snap = this.store.snapshot(decoded.id);
      if (!snap) {
        return this.sendJson(res, 410, status(410, 'Expired', 'continue token expired: the list snapshot is compacted; start the list again'));
      }
      ({ rv, items } = snap);
      offset = decoded.offset;
      snapshotId = decoded.id;
    } else {
      const requestedRv = Number(q.get('resourceVersion') || '0');
      if (requestedRv > 0 && requestedRv < this.store.compactedRv) {
        return this.sendJson(res, 410, status(410, 'Expired', `too old resource version: ${requestedRv} (${this.store.compactedRv})`));
      }
      rv = this.store.rv;
      items = this.store.list(route.type.kind).filter(matches);
    }
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (offset + page.length < items.length) {
      snapshotId ??= this.store.saveSnapshot({ rv, items });
      metadata.continue = encodeContinue(snapshotId, offset + page.length, rv);
      metadata.remainingItemCount = items.length - offset - page.length;
    }
    this.sendJson(res, 200, {
      kind: `${route.type.kind}List`,
      apiVersion: route.type.apiVersion,
      metadata,
      items: page.map(withoutTypeMeta),
    });
  }

  private serveWatch(route: ResourceRequest, q: URLSearchParams, matches: Selector, res: http.ServerResponse): void {
    const watcher: Watcher = {
      type: route.type,
      namespace: route.namespace,
      matches,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      res,
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam === '' || rvParam === '0') {
      for (const o of this.store.list(route.type.kind).filter(matches)) this.write(watcher, 'ADDED', o);
    } else {
      const replay = this.store.eventsSince(Number(rvParam));
      if (replay === 'expired' || Number.isNaN(Number(rvParam))) {
        const message = `too old resource version: ${rvParam} (${this.store.compactedRv})`;
        this.write(watcher, 'ERROR', status(410, 'Expired', message));
        return void res.end();
      }
      for (const e of replay) this.deliver(watcher, e);
    }
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) {
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        res.end();
      }, timeoutSeconds * 1000);
      res.on('close', () => clearTimeout(timer));
    }
  }

  private broadcast(event: StoredEvent): void {
    for (const w of this.watchers) this.deliver(w, event);
  }

  /** Sends an event as this watcher's selector sees it (objects moving in or out of the selection). */
  private deliver(w: Watcher, e: StoredEvent): void {
    if (e.resource !== w.type) return;
    const now = w.matches(e.object);
    const before = e.previous ? w.matches(e.previous) : false;
    if (e.type === 'MODIFIED') {
      if (now && before) this.write(w, 'MODIFIED', e.object);
      else if (now) this.write(w, 'ADDED', e.object);
      else if (before) this.write(w, 'DELETED', e.object);
    } else if (now) this.write(w, e.type, e.object);
  }

  private write(w: Watcher, type: WatchEventType, object: unknown): void {
    if (!w.res.writableEnded) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private sendJson(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
