import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/watch/http-get.js';
import { listAllPages } from '../../src/watch/paged-list.js';
import { FakeApiServer, kubeConfigFor } from '../support/fake-apiserver/index.js';
import { service } from '../support/fake-apiserver/watch-harness.js';

let server: FakeApiServer;
beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  for (let i = 0; i < 5; i++) server.apply(service(`s${i}`));
});
afterEach(async () => {
  await server.stop();
});

const list = (extra: { pageTimeoutMs?: number; maxRestarts?: number } = {}) =>
  listAllPages({
    kubeConfig: kubeConfigFor(server.url),
    path: '/api/v1/services',
    pageSize: 2,
    signal: new AbortController().signal,
    ...extra,
  });

describe('listAllPages', () => {
  it('joins the pages into one list at the snapshot resourceVersion', async () => {
    const rv = server.store.rv;
    const result = await list();
    expect(result.items.map((i) => i.metadata?.name)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(result.metadata?.resourceVersion).toBe(String(rv));
    expect(server.requests.map((r) => r.query.continue !== undefined)).toEqual([false, true, true]);
  });

  it('gives up with the 410 when continue tokens keep expiring', async () => {
    server.onRequest = (req) => {
      if (req.query.continue !== undefined) server.expireHistory();
    };
    const failure = await list({ maxRestarts: 2 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).statusCode).toBe(410);
    expect(server.requests.filter((r) => r.query.continue === undefined)).toHaveLength(3);
  });

  it('fails a page the server does not answer in time', async () => {
    server.latencyMs = 500;
    const started = Date.now();
    await expect(list({ pageTimeoutMs: 100 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(450);
  });

  it('reports API errors with their status code', async () => {
    const failure = await listAllPages({
      kubeConfig: kubeConfigFor(server.url),
      path: '/api/v1/widgets',
      pageSize: 2,
      signal: new AbortController().signal,
    }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ statusCode: 404 });
  });
});
