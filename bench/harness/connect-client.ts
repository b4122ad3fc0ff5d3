/**
 * Runs inside a client namespace: times TCP connection set-up (connect() until the
 * handshake completed) to each target, one connection at a time so no attempt queues
 * behind another. Each attempt uses a new source port, so its first packet is a new
 * conntrack entry that crosses the node's NAT rules.
 *
 * One round per line read on stdin, answered with a line `{ service: µs[], pod: µs[],
 * failures }`: the harness alternates rounds between the clients of several namespaces, so
 * the machine's other load falls on each ruleset alike. It exits when stdin ends.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface Target {
  ip: string;
  port: number;
}

export interface ClientRequest {
  service: Target[];
  pod: Target[];
  timeoutMs: number;
}

export interface ClientResult {
  service: number[];
  pod: number[];
  failures: number;
}

/** Microseconds to establish one connection; null on error or timeout. */
function timeConnect(target: Target, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host: target.ip, port: target.port });
    let settled = false;
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(us: number | null): void {
      settled = true;
      clearTimeout(timer);
      // Connected: RST instead of FIN, so no TIME_WAIT piles up on either side.
      if (us === null) socket.destroy();
      else socket.resetAndDestroy();
      resolve(us);
    }
    socket.once('connect', () => finish(Number(process.hrtime.bigint() - started) / 1000));
    socket.on('error', () => {
      if (!settled) finish(null);
    });
  });
}

async function round(request: ClientRequest): Promise<ClientResult> {
  const result: ClientResult = { service: [], pod: [], failures: 0 };
  for (let k = 0; k < Math.max(request.service.length, request.pod.length); k++) {
    for (const kind of ['service', 'pod'] as const) {
      const target = request[kind][k];
      if (!target) continue;
      const us = await timeConnect(target, request.timeoutMs);
      if (us === null) result.failures++;
      else result[kind].push(us);
    }
  }
  return result;
}

const request = JSON.parse(process.argv[2] ?? '{}') as ClientRequest;
for await (const _line of createInterface({ input: process.stdin })) process.stdout.write(JSON.stringify(await round(request)) + '\n');
