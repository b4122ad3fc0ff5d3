/**
 * Lets a daemon inside a test namespace reach the fake API server, which listens on
 * 127.0.0.1 of the test process's namespace: the namespace side listens on TCP and forwards
 * to a unix socket; this side forwards the unix socket to the server's TCP port. When the
 * fake server is stopped, new connections are cut at once, like a refused connection.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../netns/index.js';

const NS_SIDE = fileURLToPath(new URL('./tcp-to-unix.mjs', import.meta.url));

export interface Bridge {
  /** The URL the daemon in the namespace uses. */
  url: string;
  close(): Promise<void>;
}

export async function bridgeIntoNamespace(topo: Topology, ns: string, socketPath: string, targetPort: () => number, nsPort = 6443): Promise<Bridge> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort(), '127.0.0.1');
    sockets.add(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
    };
    for (const s of [inbound, outbound]) {
      s.on('error', close);
      s.on('close', close);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  const child = topo.spawn(ns, [process.execPath, NS_SIDE, '127.0.0.1', String(nsPort), socketPath]);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${nsPort}`,
    close: async () => {
      await topo.kill(child);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
