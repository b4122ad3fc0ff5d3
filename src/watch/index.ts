export { startClusterWatch, SERVICE_LABEL_SELECTOR } from './cluster-watch.js';
export type { BackoffOptions, ClusterWatch, ClusterWatchOptions, WatchedKind, WatchEvent } from './types.js';
