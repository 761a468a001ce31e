/**
 * The webhook receiver, run as its own process so that its CPU time is not charged to the
 * process being measured. It is a deliberately minimal HTTP/1.1 responder on raw TCP
 * (keep-alive, Content-Length bodies only, always `200 ok`): a full `node:http` server costs
 * several times more CPU per request and, on a 2-core machine, would cap the raw-POST
 * baseline before the client does.
 *
 * Started by {@link startReceiver} (lib/receiver.ts); talks to its parent over IPC:
 * `stats` (requests served, CPU used) and `arrivals` (webhook-id and arrival time of every
 * request since the last call, when started with `BENCH_RECEIVER_RECORD=1`).
 */
import { createServer, type Server, type Socket } from 'node:net';

const OK = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok',
);
const NOT_IMPLEMENTED = Buffer.from(
  'HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
);
const HEADER_END = Buffer.from('\r\n\r\n');

const record = process.env.BENCH_RECEIVER_RECORD === '1';
let requests = 0;
let arrivals: Array<[string, number]> = [];

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const headerEnd = pending.indexOf(HEADER_END);
      if (headerEnd < 0) return;
      const head = pending.subarray(0, headerEnd).toString('latin1');
      if (/\r\ntransfer-encoding:/i.test(head)) {
        socket.end(NOT_IMPLEMENTED);
        return;
      }
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const total = headerEnd + HEADER_END.length + length;
      if (pending.length < total) return;
      if (record) {
        const id = /\r\nwebhook-id:\s*([^\r]+)/i.exec(head)?.[1];
        if (id) arrivals.push([id.trim(), performance.timeOrigin + performance.now()]);
      }
      requests++;
      pending = pending.subarray(total);
      socket.write(OK);
    }
  });
  socket.on('error', () => socket.destroy());
}

function listen(): Promise<Server> {
  const server = createServer(serve);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

type Request = { id: number; type: 'stats' | 'arrivals' | 'stop' };

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_RECEIVER_PORTS ?? 1);
  const servers = await Promise.all(Array.from({ length: count }, listen));
  const ports = servers.map((server) => {
    const address = server.address();
    return address && typeof address === 'object' ? address.port : 0;
  });
  process.on('message', (message: Request) => {
    if (message.type === 'stats') {
      process.send?.({ id: message.id, requests, cpu: process.cpuUsage() });
    } else if (message.type === 'arrivals') {
      process.send?.({ id: message.id, arrivals });
      arrivals = [];
    } else if (message.type === 'stop') {
      process.send?.({ id: message.id });
      process.exit(0);
    }
  });
  // The parent going away (Ctrl-C, crash) must not leave the receiver behind.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', ports });
}

void main();
