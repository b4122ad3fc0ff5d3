/**
 * The three informers kpx needs, as kube-proxy sets them up: Services without the
 * service-proxy-name and headless labels, all EndpointSlices, and this node's own Node.
 */
import { ResilientInformer, type InformerSpec } from './resilient-informer.js';
import type { ClusterWatch, ClusterWatchOptions } from './types.js';

export const SERVICE_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 30_000 };
const DEFAULT_PAGE_SIZE = 500;

/** Field selector values escape `\`, `,` and `=` with a backslash. */
function fieldSelectorValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

export function informerSpecs(nodeName: string): InformerSpec[] {
  return [
    { kind: 'Service', path: '/api/v1/services', labelSelector: SERVICE_LABEL_SELECTOR },
    { kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
    { kind: 'Node', path: '/api/v1/nodes', fieldSelector: `metadata.name=${fieldSelectorValue(nodeName)}` },
  ];
}

/** Starts watching at once. Never throws and never gives up; `stop()` ends it for good. */
export function startClusterWatch(opts: ClusterWatchOptions): ClusterWatch {
  const specs = informerSpecs(opts.nodeName);
  let listedCount = 0;
  let isSynced = false;
  const informers = specs.map(
    (spec) =>
      new ResilientInformer({
        kubeConfig: opts.kubeConfig,
        spec,
        logger: opts.logger,
        backoff: opts.backoff ?? DEFAULT_BACKOFF,
        pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
        watchTimeoutSeconds: opts.watchTimeoutSeconds,
        onEvent: opts.onEvent,
        onFirstList: () => {
          if (++listedCount < specs.length || isSynced) return;
          isSynced = true;
          opts.logger.info('initial lists complete');
          try {
            opts.onSynced();
          } catch (err) {
            opts.logger.error({ err: String(err) }, 'onSynced threw');
          }
        },
      }),
  );
  for (const informer of informers) informer.start();
  return {
    stop: async () => {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
    synced: () => isSynced,
    restarts: () => informers.reduce((sum, informer) => sum + informer.restarts(), 0),
  };
}
