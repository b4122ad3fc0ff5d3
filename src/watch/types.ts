/** The contract between the watch layer and the daemon's sync loop. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export type WatchedKind = 'Service' | 'EndpointSlice' | 'Node';

export interface WatchEvent {
  kind: WatchedKind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /**
   * The object as JSON-shaped data, the same shape whether it came from a list or a watch:
   * `kind` and `apiVersion` set, timestamps as strings, no Date objects. DELETED carries the
   * last state kpx knew (the object's final state when the API server reported the deletion,
   * the cached one when the deletion was inferred from a re-list).
   */
  object: unknown;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export interface ClusterWatchOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  logger: Logger;
  /** Every change, in the order the informer saw it. A throw is logged and swallowed. */
  onEvent(ev: WatchEvent): void;
  /** Called once, after each of the three informers has delivered its first full list. */
  onSynced(): void;
  /** Reconnect backoff; default 1 s doubling to 30 s, each delay jittered into [d/2, d]. */
  backoff?: BackoffOptions;
  /** Items per list page (`limit`); default 500. */
  pageSize?: number;
  /**
   * Server-side watch timeout; default a random 300–600 s per watch (as client-go does), so
   * watches are renewed regularly. A stream silent for 30 s past it is presumed dead and reopened.
   */
  watchTimeoutSeconds?: number;
}

export interface ClusterWatch {
  /** Stops all informers for good; no request is made after it resolves. */
  stop(): Promise<void>;
  /** True once onSynced has been called. */
  synced(): boolean;
  /** How many times an informer was restarted after an error, summed over the three. */
  restarts(): number;
}
