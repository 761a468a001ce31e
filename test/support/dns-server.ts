/**
 * A tiny DNS server on 127.0.0.1 (UDP) for tests of the real c-ares resolver: each name in its
 * table answers with the A and AAAA records given, `'nxdomain'` answers NXDOMAIN, `'hang'`
 * never answers, and a name not in the table answers NXDOMAIN. A family left out of a name's
 * records answers NOERROR with no records (NODATA), as a real server does. A `hang` per family
 * (`{ a: [...], aaaa: 'hang' }`) leaves only that family's query unanswered. TTLs are 0, so
 * c-ares's query cache keeps nothing and every lookup is a real query.
 *
 * Point a `node:dns` Resolver at it with `setServers([server.address])`: nothing else is ever
 * asked, so no DNS query leaves the machine.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';

type Family = readonly string[] | 'hang';

/** What one name answers. */
export type DnsEntry = 'nxdomain' | 'hang' | { readonly a?: Family; readonly aaaa?: Family };

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, for `Resolver.setServers`. */
  readonly address: string;
  /** Every question received, as `name/A` or `name/AAAA`, in order. */
  readonly questions: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function readName(message: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let offset = start;
  while (offset < message.length) {
    const length = message[offset]!;
    offset += 1;
    if (length === 0) break;
    labels.push(message.subarray(offset, offset + length).toString('latin1'));
    offset += length;
  }
  return { name: labels.join('.').toLowerCase(), end: offset };
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  const bytes = Buffer.alloc(16);
  for (const [index, group] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2);
  return bytes;
}

function record(type: number, address: string): Buffer {
  const data =
    type === TYPE_A ? Buffer.from(address.split('.').map((part) => Number(part))) : ipv6Bytes(address);
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's name
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(1, 4); // class IN
  fixed.writeUInt32BE(0, 6); // TTL 0: nothing cached
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

/** Starts the server on an ephemeral port of 127.0.0.1. */
export async function startDnsServer(table: Record<string, DnsEntry>): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (message: Buffer, peer: RemoteInfo) => {
    if (message.length < 12) return;
    const { name, end } = readName(message, 12);
    const type = message.readUInt16BE(end);
    questions.push(`${name}/${type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type}`);
    const entry = table[name] ?? 'nxdomain';
    if (entry === 'hang') return;
    const family = entry === 'nxdomain' ? undefined : type === TYPE_A ? entry.a : entry.aaaa;
    if (family === 'hang') return;
    const addresses = (family ?? []).filter((address) => isIP(address) === (type === TYPE_A ? 4 : 6));
    const header = Buffer.alloc(12);
    message.copy(header, 0, 0, 2); // the query's id
    header.writeUInt16BE(0x8180 | (entry === 'nxdomain' ? 3 : 0), 2); // response, RD, RA, rcode
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(addresses.length, 6);
    const question = message.subarray(12, end + 4);
    const answer = Buffer.concat([header, question, ...addresses.map((address) => record(type, address))]);
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
