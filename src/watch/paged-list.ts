/**
 * A list function for client-node's ListWatch that pages with `limit`/`continue`.
 * If a continue token has expired (410: the snapshot it pointed into was compacted) the list
 * starts over, so the result is always one consistent snapshot with one resourceVersion.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ApiError, getJson } from './http-get.js';
import { toPlainJson } from './plain-json.js';

export interface PagedListOptions {
  kubeConfig: KubeConfig;
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  pageSize: number;
  signal: AbortSignal;
  /** Per page; a page not answered by then fails the list (default 60 s). */
  pageTimeoutMs?: number;
  /** Fresh starts allowed after expired continue tokens before giving up with the 410. */
  maxRestarts?: number;
}

interface RawList {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

function hasName(item: unknown): item is KubernetesObject & { metadata: { name: string } } {
  const metadata = (item as { metadata?: { name?: unknown } } | null)?.metadata;
  return typeof metadata?.name === 'string';
}

export async function listAllPages(opts: PagedListOptions): Promise<KubernetesListObject<KubernetesObject>> {
  const maxRestarts = opts.maxRestarts ?? 3;
  for (let restart = 0; ; restart++) {
    const items: KubernetesObject[] = [];
    let token: string | undefined;
    let page: RawList = {};
    try {
      do {
        page = (await getJson(
          opts.kubeConfig,
          opts.path,
          {
            limit: String(opts.pageSize),
            continue: token,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
          },
          AbortSignal.any([opts.signal, AbortSignal.timeout(opts.pageTimeoutMs ?? 60_000)]),
        )) as RawList;
        items.push(...(page.items ?? []).filter(hasName));
        token = page.metadata?.continue || undefined;
      } while (token);
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 410 && token !== undefined && restart < maxRestarts) continue;
      throw err;
    }
    // List items come without kind/apiVersion; watch objects carry them. Give both one shape.
    const kind = page.kind?.replace(/List$/, '');
    const apiVersion = page.apiVersion;
    return {
      kind: page.kind,
      apiVersion,
      metadata: { resourceVersion: page.metadata?.resourceVersion ?? '' },
      items: items.map((item) => toPlainJson({ kind, apiVersion, ...item }) as KubernetesObject),
    };
  }
}
