/**
 * The metrics server (kube-proxy's `metricsBindAddress`, default 127.0.0.1:10249):
 * `/metrics` in the Prometheus text format, `/healthz` answering `ok` and `/proxyMode`
 * answering the mode as kube-proxy's does, and kpx's `/debug/ruleset`: the last ruleset
 * the kernel accepted, as text (iptables-restore or nft -f input).
 */
import type { Registry } from 'prom-client';
import type { ProxyMode } from '../config/checks.js';
import { HttpServer, pathOf, sendText, type Listen } from './http.js';

export interface MetricsServerOptions {
  registry: Registry;
  mode: ProxyMode;
  /** The last applied ruleset; null before the first successful sync. */
  ruleset: () => string | null;
}

export class MetricsServer {
  private readonly http: HttpServer;

  constructor(opts: MetricsServerOptions, listen: Listen) {
    this.http = new HttpServer((req, res) => {
      switch (pathOf(req)) {
        case '/metrics':
          opts.registry.metrics().then(
            (text) => sendText(res, 200, text, opts.registry.contentType),
            (err: Error) => sendText(res, 500, `collecting metrics failed: ${err.message}\n`),
          );
          return;
        case '/healthz':
          return sendText(res, 200, 'ok');
        case '/proxyMode':
          return sendText(res, 200, opts.mode);
        case '/debug/ruleset': {
          const text = opts.ruleset();
          return text === null ? sendText(res, 503, 'no ruleset has been applied yet\n') : sendText(res, 200, text);
        }
        default:
          return sendText(res, 404, '404 page not found\n');
      }
    }, listen);
  }

  start() {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }
}
