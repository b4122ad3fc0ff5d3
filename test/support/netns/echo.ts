/**
 * Echo servers inside a topology's namespaces: one process per call, listening on every
 * given ip:port, answering each connection or datagram with `{local, peer}` (echo-server.mjs).
 */
import { fileURLToPath } from 'node:url';
import type { Topology } from './topology.js';

export type Protocol = 'tcp' | 'udp';

export interface Listen {
  ip: string;
  port: number;
  protocol: Protocol;
}

export interface EchoServers {
  /** Kills the server process and waits for it to exit. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../echo-server.mjs', import.meta.url));
const READY_TIMEOUT_MS = 5000;

/**
 * Resolves once the server printed "listening" (every socket bound); rejects, after killing
 * it, if it exits or stays silent for 5 s. The topology's destroy() also kills it.
 */
export async function startEchoServers(topo: Topology, ns: string, listen: Listen[]): Promise<EchoServers> {
  const child = topo.spawn(ns, [process.execPath, SCRIPT, JSON.stringify(listen)]);
  const stop = (): Promise<void> => topo.kill(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  try {
    await new Promise<void>((resolve, reject) => {
      let stdout = '';
      const notReady = new Error(`echo server in ${ns} not ready after ${READY_TIMEOUT_MS} ms`);
      const timer = setTimeout(() => reject(notReady), READY_TIMEOUT_MS);
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('listening\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`echo server in ${ns} exited ${code}: ${stderr.trim()}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
