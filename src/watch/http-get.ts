/**
 * One GET against the API server, with the kubeconfig's TLS, auth and proxy settings applied
 * through client-node's `applyToHTTPSOptions` (public API), and the body returned as parsed
 * JSON. Raw JSON rather than the generated API client: its deserializer turns timestamps into
 * Dates and drops fields its model does not know, so list items would differ from the raw
 * objects the watch delivers.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer; `statusCode` is what client-node's ListWatch looks at (410 → re-list). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: unknown,
  ) {
    const message = (status as { message?: unknown } | null)?.message;
    super(`API server answered ${statusCode}${typeof message === 'string' ? `: ${message}` : ''}`);
    this.name = 'ApiError';
  }
}

export async function getJson(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { ...options, method: 'GET', signal, headers: { ...options.headers, Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch (err) {
            if ((res.statusCode ?? 0) < 300) return reject(new Error(`API server sent invalid JSON: ${String(err)}`));
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(body);
          else reject(new ApiError(code, body));
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
