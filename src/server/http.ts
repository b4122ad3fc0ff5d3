/**
 * A small node:http wrapper shared by kpx's servers: listen on host:port (port 0 picks a
 * free one), report the bound address, stop without waiting for idle keep-alive clients.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Listen {
  /** An IP; '' lets Node choose (`::` with IPv4 mapped, or `0.0.0.0`). */
  host: string;
  port: number;
}

export class HttpServer {
  private server: Server | null = null;
  private bound: AddressInfo | null = null;

  constructor(
    private readonly handler: Handler,
    private readonly listen: Listen,
  ) {}

  /** Resolves once listening; rejects with the listen error (EADDRINUSE, EACCES, ...). */
  async start(): Promise<AddressInfo> {
    if (this.bound) return this.bound;
    const server = createServer((req, res) => {
      try {
        this.handler(req, res);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`internal error: ${(err as Error).message}\n`);
      }
    });
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const options = this.listen.host === '' ? { port: this.listen.port } : { host: this.listen.host, port: this.listen.port };
      server.listen(options, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.bound = server.address() as AddressInfo;
    return this.bound;
  }

  /** The bound address, null before `start` or after `stop`. */
  address(): AddressInfo | null {
    return this.bound;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.bound = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** The request path without the query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
