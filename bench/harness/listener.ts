/**
 * Runs inside the backend namespace: accepts TCP connections on 0.0.0.0 at each port in
 * argv[2] (comma-separated) and closes them at once. Prints "listening" when every socket
 * is bound. The benchmark kills it by PID.
 */
import { createServer } from 'node:net';

const ports = (process.argv[2] ?? '').split(',').filter((p) => p !== '').map(Number);
let bound = 0;
for (const port of ports) {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end();
  });
  server.listen({ host: '0.0.0.0', port, backlog: 1024 }, () => {
    if (++bound === ports.length) process.stdout.write('listening\n');
  });
}
