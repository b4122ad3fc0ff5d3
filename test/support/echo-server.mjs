// Echo server for kernel tests, run as `ip netns exec NS node echo-server.mjs '<json>'`
// where <json> is [{"ip":"10.244.2.2","port":8080,"protocol":"tcp"}, ...].
// Every TCP connection and every UDP datagram is answered with one JSON line naming the
// endpoint that answered and the peer address it saw:
//   {"local":"10.244.2.2:8080","peer":"192.168.50.10:40000"}   (IPv6: "[fd00::2]:8080")
// Prints "listening" once every socket is bound; exits when stdin closes, so a server whose
// parent died does not outlive it.
import dgram from 'node:dgram';
import net from 'node:net';

const hostPort = (ip, port) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const reply = (local, peer) => JSON.stringify({ local, peer }) + '\n';

function fail(message) {
  process.stderr.write(`echo-server: ${message}\n`);
  process.exit(1);
}

function listenTCP({ ip, port }) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end(reply(hostPort(ip, port), hostPort(socket.remoteAddress, socket.remotePort)));
    });
    server.once('error', reject);
    server.listen({ host: ip, port, backlog: 1024 }, () => resolve());
  });
}

function listenUDP({ ip, port }) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (_msg, rinfo) => {
      socket.send(reply(hostPort(ip, port), hostPort(rinfo.address, rinfo.port)), rinfo.port, rinfo.address);
    });
    socket.once('error', reject);
    socket.bind({ address: ip, port }, () => {
      socket.removeListener('error', reject);
      socket.on('error', () => {});
      resolve();
    });
  });
}

let listen;
try {
  listen = JSON.parse(process.argv[2] ?? '');
} catch {
  fail('usage: echo-server.mjs \'[{"ip":..,"port":..,"protocol":"tcp"|"udp"}]\'');
}

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

Promise.all(listen.map((l) => (l.protocol === 'udp' ? listenUDP(l) : listenTCP(l)))).then(
  () => process.stdout.write('listening\n'),
  (err) => fail(`${err.code ?? ''} ${err.message}`),
);
