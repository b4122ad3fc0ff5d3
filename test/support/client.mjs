// Probe client for kernel tests, run as `ip netns exec NS node client.mjs '<json>'` with
// <json> = {"dst","port","protocol":"tcp"|"udp","src"?,"srcPort"?,"count","timeoutMs","concurrency"}.
// Makes `count` independent attempts (each a new socket, so a new source port unless srcPort),
// `concurrency` at a time, and prints one JSON array with a result per attempt, in order:
//   {"ok":true,"local":"10.244.2.3:8080","peer":"192.168.50.10:40000"}  (the server's reply)
//   {"ok":false,"error":"refused"}   TCP RST or ICMP unreachable-port answer (REJECT)
//   {"ok":false,"error":"timeout"}   no answer within timeoutMs (DROP)
//   {"ok":false,"error":"EHOSTUNREACH"|...}  any other socket error, by errno name
import dgram from 'node:dgram';
import net from 'node:net';

const opts = JSON.parse(process.argv[2] ?? '{}');
const { dst, port, protocol, src, srcPort, count, timeoutMs, concurrency } = opts;

function parseReply(text) {
  try {
    const { local, peer } = JSON.parse(text);
    if (typeof local === 'string' && typeof peer === 'string') return { ok: true, local, peer };
  } catch {
    // Reported below.
  }
  return { ok: false, error: `bad reply: ${JSON.stringify(text.slice(0, 200))}` };
}

function attempt(open) {
  return new Promise((resolve) => {
    let settled = false;
    let close = () => {};
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    close = open(finish);
  });
}

function tcpAttempt(finish) {
  let connected = false;
  const chunks = [];
  const socket = net.connect({ host: dst, port, ...(src ? { localAddress: src } : {}) });
  socket.on('connect', () => (connected = true));
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('end', () => finish(parseReply(Buffer.concat(chunks).toString('utf8'))));
  socket.on('error', (err) => {
    // A reset before the handshake completes is `-j REJECT --reject-with tcp-reset`.
    const refused = err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && !connected);
    finish({ ok: false, error: refused ? 'refused' : (err.code ?? err.message) });
  });
  return () => socket.destroy();
}

// A connected UDP socket receives ICMP port unreachable as an error on its next receive;
// libuv reports it and Node emits 'error' with code ECONNREFUSED (syscall recvmsg).
function udpAttempt(finish) {
  const socket = dgram.createSocket(dst.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', (err) =>
    finish({ ok: false, error: err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message) }),
  );
  socket.on('message', (msg) => finish(parseReply(msg.toString('utf8'))));
  const connect = () =>
    socket.connect(port, dst, (err) => {
      if (err) finish({ ok: false, error: err.code ?? err.message });
      else socket.send('probe\n');
    });
  // A fixed srcPort (UDP only) makes every attempt the same flow to conntrack.
  if (src || srcPort) socket.bind({ address: src, port: srcPort ?? 0 }, connect);
  else connect();
  return () => {
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  };
}

const results = new Array(count);
let next = 0;
async function worker() {
  while (next < count) {
    const i = next++;
    results[i] = await attempt(protocol === 'udp' ? udpAttempt : tcpAttempt);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
process.stdout.write(JSON.stringify(results) + '\n');
