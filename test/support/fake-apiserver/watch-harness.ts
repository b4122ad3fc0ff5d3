/**
 * Runs kpx's cluster watch against a fake API server and folds its events into a view,
 * so tests can compare what kpx believes with what the server holds.
 */
import { pino } from 'pino';
import { startClusterWatch } from '../../../src/watch/cluster-watch.js';
import type { ClusterWatch, ClusterWatchOptions, WatchEvent } from '../../../src/watch/types.js';
import { kubeConfigFor } from './kubeconfig.js';
import { parseLabelSelector, type FakeObject } from './selectors.js';
import { FakeApiServer } from './server.js';

export interface LogLine {
  level: number;
  msg: string;
  resource?: string;
  retryInMs?: number;
  time: number;
}

export interface WatchHarness {
  server: FakeApiServer;
  watch: ClusterWatch;
  events: WatchEvent[];
  logs: LogLine[];
  /** `Kind ns/name` → resourceVersion, as the events so far say. */
  view(): Record<string, string>;
  /** The same, as the server holds it for what kpx watches. */
  expectedView(): Record<string, string>;
  /** events.length when onSynced was called; undefined before. */
  eventsAtSync(): number | undefined;
  syncCalls(): number;
  close(): Promise<void>;
}

export const NODE_NAME = 'node-a';

const keyOf = (kind: string, o: { metadata?: { namespace?: string; name?: string } }) =>
  `${kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function sorted(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export async function startWatchHarness(
  seed: (server: FakeApiServer) => void,
  opts: Partial<ClusterWatchOptions> = {},
  server = new FakeApiServer(),
): Promise<WatchHarness> {
  await server.start();
  seed(server);
  const events: WatchEvent[] = [];
  const logs: LogLine[] = [];
  const view = new Map<string, string>();
  let atSync: number | undefined;
  let syncCalls = 0;
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const watch = startClusterWatch({
    kubeConfig: kubeConfigFor(server.url),
    nodeName: NODE_NAME,
    logger,
    backoff: { initialMs: 20, maxMs: 200 },
    pageSize: 2,
    onEvent: (ev) => {
      events.push(ev);
      const obj = ev.object as FakeObject;
      if (ev.type === 'DELETED') view.delete(keyOf(ev.kind, obj));
      else view.set(keyOf(ev.kind, obj), obj.metadata.resourceVersion ?? '');
    },
    onSynced: () => {
      syncCalls++;
      atSync = events.length;
    },
    ...opts,
  });
  const serviceSelector = parseLabelSelector('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
  return {
    server,
    watch,
    events,
    logs,
    view: () => sorted(view.entries()),
    expectedView: () => {
      const entries: [string, string][] = [];
      const add = (kind: string, objects: FakeObject[]) => {
        for (const o of objects) entries.push([keyOf(kind, o), o.metadata.resourceVersion ?? '']);
      };
      add('Service', server.store.list('Service').filter((o) => serviceSelector.ok && serviceSelector.match(o)));
      add('EndpointSlice', server.store.list('EndpointSlice'));
      add('Node', server.store.list('Node').filter((o) => o.metadata.name === NODE_NAME));
      return sorted(entries);
    },
    eventsAtSync: () => atSync,
    syncCalls: () => syncCalls,
    close: async () => {
      await watch.stop();
      await server.stop();
    },
  };
}

export const service = (name: string, labels: Record<string, string> = {}, ns = 'default'): FakeObject => ({
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});

export const slice = (service: string, ip: string, suffix = 'abcde', ns = 'default'): FakeObject => ({
  kind: 'EndpointSlice',
  metadata: { name: `${service}-${suffix}`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: NODE_NAME }],
});

export const node = (name: string, labels: Record<string, string> = {}): FakeObject => ({
  kind: 'Node',
  metadata: { name, labels },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] },
});
