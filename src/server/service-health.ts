/**
 * healthCheckNodePort servers for `externalTrafficPolicy: Local` services (kube-proxy's
 * ServiceHealthServer, pkg/proxy/healthcheck/service_health.go). Cloud load balancers
 * probe each node on the port: 200 when this node has a local endpoint for the service
 * and the proxy is healthy, 503 otherwise, with kube-proxy's JSON body.
 *
 * A port that cannot be opened (taken by another process, say) is logged and returned as
 * a failure, never thrown; the service is retried on the next `syncServices`.
 */
import type { AddressInfo } from 'node:net';
import { HttpServer, sendText } from './http.js';

/** pino's method shape, so a pino logger can be passed as is. */
export interface ServerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ServiceHealthFailure {
  /** `namespace/name` */
  service: string;
  port: number;
  error: string;
}

export interface ServiceHealthOptions {
  /**
   * IPs to listen on, each port once per address. kube-proxy uses the node IPs that
   * match nodePortAddresses, or all addresses; '' lets Node listen on all of them.
   */
  bindAddresses: string[];
  /** The proxy's own health (`ProxyHealth.health().healthy`). */
  proxyHealthy: () => boolean;
  log?: ServerLog;
}

interface Instance {
  port: number;
  servers: HttpServer[];
  localEndpoints: number;
}

/** kube-proxy's body, byte for byte: tab-indented, no trailing newline. */
export function serviceHealthBody(nsName: string, localEndpoints: number, proxyHealthy: boolean): string {
  const slash = nsName.indexOf('/');
  const namespace = nsName.slice(0, slash);
  const name = nsName.slice(slash + 1);
  return [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(namespace)},`,
    `\t\t"name": ${JSON.stringify(name)}`,
    '\t},',
    `\t"localEndpoints": ${localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    '}',
  ].join('\n');
}

export class ServiceHealthServer {
  private readonly services = new Map<string, Instance>();
  private endpoints: ReadonlyMap<string, number> = new Map();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ServiceHealthOptions) {}

  /**
   * Makes `services` (namespace/name → healthCheckNodePort) the open set: closes the
   * listeners of services no longer present or whose port changed, opens new ones, and
   * leaves the rest alone. Calls are serialized. Resolves with the ports that failed.
   */
  syncServices(services: ReadonlyMap<string, number>): Promise<ServiceHealthFailure[]> {
    const run = this.queue.then(() => this.applyServices(new Map(services)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Sets the number of local endpoints per service (namespace/name → count); services
   * missing from the map have none. The latest map also seeds listeners opened later.
   */
  syncEndpoints(endpoints: ReadonlyMap<string, number>): void {
    this.endpoints = new Map(endpoints);
    for (const [nsName, instance] of this.services) instance.localEndpoints = endpoints.get(nsName) ?? 0;
  }

  /** Bound addresses per open service (useful with port 0 in tests). */
  addresses(nsName: string): AddressInfo[] {
    return (this.services.get(nsName)?.servers ?? []).flatMap((s) => s.address() ?? []);
  }

  openServices(): string[] {
    return [...this.services.keys()].sort();
  }

  /** Closes every listener. */
  stop(): Promise<void> {
    const run = this.queue.then(() => this.applyServices(new Map())).then(() => undefined);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyServices(wanted: Map<string, number>): Promise<ServiceHealthFailure[]> {
    for (const [nsName, instance] of [...this.services]) {
      if (wanted.get(nsName) === instance.port) continue;
      this.opts.log?.info({ service: nsName, port: instance.port }, 'closing healthcheck');
      this.services.delete(nsName);
      await Promise.all(instance.servers.map((s) => s.stop()));
    }
    const failures: ServiceHealthFailure[] = [];
    for (const [nsName, port] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (this.services.has(nsName)) continue;
      const instance: Instance = { port, servers: [], localEndpoints: this.endpoints.get(nsName) ?? 0 };
      const error = await this.open(nsName, instance);
      if (error === null) {
        this.services.set(nsName, instance);
        this.opts.log?.info({ service: nsName, port }, 'opened healthcheck');
      } else {
        failures.push({ service: nsName, port, error });
        this.opts.log?.warn({ service: nsName, port, err: error }, 'failed to open healthcheck port');
      }
    }
    return failures;
  }

  /** Listens on every bind address; on any failure closes what was opened. */
  private async open(nsName: string, instance: Instance): Promise<string | null> {
    for (const host of this.opts.bindAddresses) {
      const server = new HttpServer((_req, res) => {
        const current = this.services.get(nsName);
        if (current !== instance) return sendText(res, 503, 'healthcheck closed\n');
        const healthy = this.opts.proxyHealthy();
        const count = instance.localEndpoints;
        res.writeHead(count > 0 && healthy ? 200 : 503, {
          'Content-Type': 'application/json',
          'X-Content-Type-Options': 'nosniff',
          'X-Load-Balancing-Endpoint-Weight': String(count),
        });
        res.end(serviceHealthBody(nsName, count, healthy));
      }, { host, port: instance.port });
      try {
        await server.start();
        instance.servers.push(server);
      } catch (err) {
        await Promise.all(instance.servers.map((s) => s.stop()));
        instance.servers = [];
        return (err as Error).message;
      }
    }
    return null;
  }
}
