/**
 * client-node's `Watch`, hardened for use under its `ListWatch` (client-node 1.4.0, watch.js):
 * - `Watch.watch` awaits `applyToFetchOptions` outside its try block, so an auth-plugin or
 *   kubeconfig failure rejects the promise; ListWatch does not catch it when reconnecting after
 *   a stream end, which would be an unhandled rejection. Here it becomes a `done(err)`.
 * - It builds a 30 s timeout signal but then overwrites it, so a half-open connection hangs for
 *   ever. Here every watch asks for `timeoutSeconds` and is aborted (and reported as a clean
 *   end, so ListWatch resumes from its resourceVersion) if still open 30 s past it.
 * - Bookmarks are requested so the resourceVersion stays fresh on quiet resources.
 * - No watch is opened once the owner has stopped, nor before the delay the owner asks for, and
 *   one whose response arrives after the stop is closed at once.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface WatchLifecycle {
  stopped(): boolean;
  /** ListWatch is about to open a watch; all items of a preceding list have been delivered. */
  opening(): void;
  /** Milliseconds to wait before opening (0 for none); resolves early when stopped. */
  delayBeforeOpen(): Promise<void>;
  /** The server accepted the watch (HTTP 200). */
  connected(): void;
  /** The stream ended: `err` null for a clean end. `openMs` 0 if it never connected. */
  ended(err: unknown, openMs: number): void;
  /** timeoutSeconds for the next watch. */
  timeoutSeconds(): number;
}

type WatchCallback = Parameters<Watch['watch']>[2];

const DEAD_STREAM_GRACE_MS = 30_000;

export class GuardedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly lifecycle: WatchLifecycle,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.lifecycle.opening();
    await this.lifecycle.delayBeforeOpen();
    if (this.lifecycle.stopped()) return new AbortController();
    const timeoutSeconds = this.lifecycle.timeoutSeconds();
    let finished = false;
    let connectedAt = 0;
    let deadlineHit = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      const reported = deadlineHit ? null : err;
      this.lifecycle.ended(reported, connectedAt ? Date.now() - connectedAt : 0);
      done(reported);
    };
    let controller: AbortController;
    try {
      controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds }, callback, finish);
    } catch (err) {
      finish(err);
      return new AbortController();
    }
    if (!finished && this.lifecycle.stopped()) {
      // Stopped while the request was in flight: ListWatch had no controller to abort yet.
      controller.abort();
    } else if (!finished) {
      connectedAt = Date.now();
      this.lifecycle.connected();
      deadline = setTimeout(() => {
        deadlineHit = true;
        controller.abort();
      }, timeoutSeconds * 1000 + DEAD_STREAM_GRACE_MS);
      deadline.unref();
    }
    return controller;
  }
}
