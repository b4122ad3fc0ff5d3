// Runs inside a network namespace: accepts TCP on HOST:PORT and forwards each connection to
// a unix socket, which the test process (in another namespace) serves. Unix sockets live in
// the file system, not in a network namespace, so this crosses namespaces without touching
// the host's network. Usage: node tcp-to-unix.mjs HOST PORT SOCKET
import net from 'node:net';

const [host, port, socketPath] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(Number(port), host, () => process.stdout.write('listening\n'));
