/**
 * The SSRF guard: which endpoint URLs may be registered, and which addresses the delivery
 * function may connect to.
 *
 * Two checks, one policy. At endpoint creation {@link checkEndpointUrl} refuses what is wrong
 * on its face (scheme, userinfo, literal internal addresses, our own API host). At delivery
 * {@link resolveAndCheck} resolves the host through an injected resolver, refuses the name if
 * any answer is internal, and returns the checked address, which the caller connects to
 * without a second lookup (so a DNS answer that changes in between cannot slip through).
 *
 * Only public unicast addresses pass. Local mode may allow loopback, and nothing else.
 * Pure: no sockets and no DNS here, so the tests never open a connection.
 */

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Longest endpoint URL accepted. */
export const MAX_ENDPOINT_URL_LENGTH = 2048;

/** What the guard allows beyond public unicast addresses. */
export interface GuardOptions {
  /** Allow loopback addresses and `localhost` (local mode only). Never allows anything else. */
  allowLoopback: boolean;
  /**
   * Hostnames refused whatever they resolve to, e.g. the stack's own API host. Compared
   * case-insensitively, without a trailing dot.
   */
  blockedHosts?: readonly string[];
}

/** The delivery target resolves to, or is, an address the guard refuses. */
export class BlockedAddressError extends Error {
  /** Machine-readable reason, recorded on the attempt. */
  readonly code = 'blocked_address';
  /** The refused address, when the refusal is about one. */
  readonly address: string | undefined;

  constructor(message: string, address?: string) {
    super(message);
    this.name = 'BlockedAddressError';
    this.address = address;
  }
}

/** The resolver returned no address for the host. */
export class DnsNoAnswerError extends Error {
  /** Machine-readable reason, recorded on the attempt. */
  readonly code = 'dns_no_answer';

  constructor(hostname: string) {
    super(`No address found for ${hostname}`);
    this.name = 'DnsNoAnswerError';
  }
}

/** Verdict of {@link classifyAddress}. */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Looks up every address of a hostname (in production, c-ares: lambdas/adapters/dns-resolver.ts). */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>>;

const ALLOWED: AddressVerdict = { allowed: true };

/** Cloud instance metadata services: AWS IMDS over IPv4 and IPv6 (also used by others on IPv4). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254']);

const IPV4_REASONS: Record<string, string> = {
  unspecified: 'unspecified address (0.0.0.0/8)',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT address (100.64.0.0/10)',
  private: 'private address',
  reserved: 'reserved address',
  as112: 'special-purpose address (AS112)',
  amt: 'special-purpose address (AMT)',
};

const IPV6_REASONS: Record<string, string> = {
  unspecified: 'unspecified address (::)',
  linkLocal: 'link-local address',
  multicast: 'multicast address',
  loopback: 'loopback address',
  uniqueLocal: 'unique-local address (fc00::/7)',
  deprecatedSiteLocal: 'site-local address (fec0::/10)',
  discard: 'discard-only address (100::/64)',
  benchmarking: 'benchmarking address (2001:2::/48)',
  amt: 'special-purpose address (AMT)',
  as112v6: 'special-purpose address (AS112)',
  deprecatedOrchid: 'special-purpose address (ORCHID)',
  orchid2: 'special-purpose address (ORCHIDv2)',
  droneRemoteIdProtocolEntityTags: 'special-purpose address (DRIP)',
  segmentRouting: 'special-purpose address (SRv6 SIDs)',
  reserved: 'reserved or documentation address',
};

const GLOBAL_UNICAST_V6: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];
const NAT64_LOCAL_USE: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('64:ff9b:1::'), 48];

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIPv4(address: ipaddr.IPv4, options: GuardOptions): AddressVerdict {
  if (METADATA_ADDRESSES.has(address.toString())) {
    return { allowed: false, reason: 'cloud metadata address' };
  }
  const range = address.range();
  if (range === 'unicast' || (range === 'loopback' && options.allowLoopback)) {
    return ALLOWED;
  }
  return { allowed: false, reason: IPV4_REASONS[range] ?? `special-purpose address (${range})` };
}

/**
 * Judges an IPv4 address carried inside an IPv6 one. Only IPv4-mapped addresses reach our
 * own loopback through a dual-stack socket; the translation and tunnel forms lead elsewhere,
 * so loopback inside them is refused even in local mode.
 */
function classifyEmbedded(kind: string, embedded: ipaddr.IPv4, options: GuardOptions): AddressVerdict {
  const verdict = classifyIPv4(embedded, options);
  if (verdict.allowed) {
    return verdict;
  }
  return { allowed: false, reason: `${kind} address embedding ${embedded.toString()}: ${verdict.reason}` };
}

function classifyIPv6(address: ipaddr.IPv6, options: GuardOptions): AddressVerdict {
  if (METADATA_ADDRESSES.has(address.toString())) {
    return { allowed: false, reason: 'cloud metadata address' };
  }
  const parts = address.parts as [number, number, number, number, number, number, number, number];
  const strict: GuardOptions = { ...options, allowLoopback: false };
  const range = address.range();
  switch (range) {
    case 'unicast':
      break;
    case 'loopback':
      return options.allowLoopback ? ALLOWED : { allowed: false, reason: IPV6_REASONS.loopback! };
    case 'ipv4Mapped':
      return classifyEmbedded('IPv4-mapped', ipv4FromParts(parts[6], parts[7]), options);
    case 'rfc6145':
      return classifyEmbedded('IPv4-translated', ipv4FromParts(parts[6], parts[7]), strict);
    case 'rfc6052':
      // 64:ff9b:1::/48 is for local use with an operator-chosen layout; only the /96 layout
      // (the IPv4 address in the last 32 bits, zeros in between) can be judged with certainty.
      if (address.match(NAT64_LOCAL_USE) && (parts[3] !== 0 || parts[4] !== 0 || parts[5] !== 0)) {
        return { allowed: false, reason: 'local-use NAT64 address (64:ff9b:1::/48) of unknown layout' };
      }
      return classifyEmbedded('NAT64', ipv4FromParts(parts[6], parts[7]), strict);
    case '6to4':
      return classifyEmbedded('6to4', ipv4FromParts(parts[1], parts[2]), strict);
    case 'teredo':
      // The Teredo client's public IPv4 address is stored with every bit inverted.
      return classifyEmbedded('Teredo', ipv4FromParts(parts[6] ^ 0xffff, parts[7] ^ 0xffff), strict);
    default:
      return { allowed: false, reason: IPV6_REASONS[range] ?? `special-purpose address (${range})` };
  }
  // Deprecated IPv4-compatible addresses (::a.b.c.d); :: and ::1 were handled above.
  if (parts.slice(0, 6).every((part) => part === 0)) {
    return classifyEmbedded('IPv4-compatible', ipv4FromParts(parts[6], parts[7]), strict);
  }
  if (!address.match(GLOBAL_UNICAST_V6)) {
    return { allowed: false, reason: 'address outside global unicast (2000::/3)' };
  }
  return ALLOWED;
}

/**
 * Whether the delivery function may connect to an address. Only public unicast passes;
 * `allowLoopback` adds loopback (127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104) and nothing else.
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged
 * by that IPv4 address.
 *
 * @param ip - an IP address in any spelling {@link parseHostLiteral} understands
 */
export function classifyAddress(ip: string, options: GuardOptions): AddressVerdict {
  const literal = parseHostLiteral(ip);
  if (literal === undefined) {
    return { allowed: false, reason: `not an IP address: ${ip}` };
  }
  if (literal.includes('%')) {
    return { allowed: false, reason: 'scoped address (zone id)' };
  }
  const address = ipaddr.parse(literal);
  return address.kind() === 'ipv4'
    ? classifyIPv4(address as ipaddr.IPv4, options)
    : classifyIPv6(address as ipaddr.IPv6, options);
}

/**
 * One IPv4 number part as the WHATWG URL standard reads it: `0x` hex, leading-zero octal,
 * else decimal.
 */
function parseIPv4Number(part: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]*$/.test(part)) {
    return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  }
  if (/^0[0-7]+$/.test(part)) {
    return Number.parseInt(part.slice(1), 8);
  }
  if (/^(0|[1-9][0-9]*)$/.test(part)) {
    return Number(part);
  }
  return undefined;
}

/**
 * The WHATWG URL IPv4 parser (which is also what `inet_aton` accepts): one to four parts,
 * each decimal, octal or hex, the last one filling the remaining bytes. So `127.1`,
 * `2130706433`, `0177.0.0.1` and `0x7f.0.0.1` all mean 127.0.0.1.
 */
function parseIPv4Literal(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length > 1 && parts.at(-1) === '') {
    parts.pop();
  }
  if (parts.length === 0 || parts.length > 4) {
    return undefined;
  }
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIPv4Number(part);
    if (value === undefined || !Number.isSafeInteger(value)) {
      return undefined;
    }
    numbers.push(value);
  }
  const last = numbers.pop()!;
  if (numbers.some((value) => value > 255) || last >= 256 ** (4 - numbers.length)) {
    return undefined;
  }
  let value = last;
  numbers.forEach((byte, index) => {
    value += byte * 256 ** (3 - index);
  });
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * Rewrites a dotted IPv4 tail of an IPv6 address as two hex groups. ipaddr.js reads
 * `::a.b.c.d` as the IPv4-mapped `::ffff:a.b.c.d`, but it is the IPv4-compatible `::a.b.c.d`
 * (as WHATWG URL and the kernel read it): a different address, which the guard must judge,
 * and the caller connect to, as written. `text` has already passed `isIP`.
 */
function hexIPv4Tail(text: string): string {
  const match = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) {
    return text;
  }
  const [, head, a, b, c, d] = match;
  const high = (Number(a) << 8) | Number(b);
  const low = (Number(c) << 8) | Number(d);
  return `${head}${high.toString(16)}:${low.toString(16)}`;
}

/**
 * If `host` is an IP address literal in any spelling, the address in canonical form
 * (dotted decimal, or RFC 5952 IPv6 without brackets); otherwise `undefined`.
 *
 * Accepts what a URL's hostname can hold before or after WHATWG normalisation: dotted
 * decimal, one decimal integer (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.0.0.1`),
 * short forms (`127.1`), a trailing dot, and IPv6 with or without brackets (`[::1]`).
 */
export function parseHostLiteral(host: string): string | undefined {
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const inner = bracketed ? host.slice(1, -1) : host;
  if (isIP(inner) === 6) {
    // Zone ids (`fe80::1%eth0`) are kept as written; ipaddr.js accepts only some of them.
    const percent = inner.indexOf('%');
    const bare = percent < 0 ? inner : inner.slice(0, percent);
    const zone = percent < 0 ? '' : inner.slice(percent);
    return `${ipaddr.IPv6.parse(hexIPv4Tail(bare)).toString()}${zone}`;
  }
  if (bracketed) {
    return undefined;
  }
  return parseIPv4Literal(inner);
}

function normaliseHostname(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

function isBlockedHost(hostname: string, options: GuardOptions): boolean {
  const name = normaliseHostname(hostname);
  return (options.blockedHosts ?? []).some((blocked) => normaliseHostname(blocked) === name);
}

/** `localhost` or a name under it (RFC 6761: always loopback), case and trailing dots aside. */
export function isLocalhostName(hostname: string): boolean {
  const name = normaliseHostname(hostname);
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Whether a canonical literal from {@link parseHostLiteral} (never scoped in a URL) is loopback. */
function isLoopbackLiteral(literal: string): boolean {
  if (literal.includes('%')) {
    return false;
  }
  const address = ipaddr.parse(literal);
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    if (v6.range() === 'loopback') {
      return true;
    }
    return v6.isIPv4MappedAddress() && v6.toIPv4Address().range() === 'loopback';
  }
  return (address as ipaddr.IPv4).range() === 'loopback';
}

/** Verdict of {@link checkEndpointUrl}. */
export type EndpointUrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Whether a URL may be registered as an endpoint. It must parse, be at most
 * {@link MAX_ENDPOINT_URL_LENGTH} characters, use https (http only for loopback when
 * `allowLoopback`), carry no userinfo, and name neither a refused literal address, a host in
 * `blockedHosts`, nor `localhost` (unless `allowLoopback`). Hostnames are resolved and checked
 * again at every delivery by {@link resolveAndCheck}.
 */
export function checkEndpointUrl(raw: string, options: GuardOptions): EndpointUrlVerdict {
  if (raw.length > MAX_ENDPOINT_URL_LENGTH) {
    return { ok: false, reason: `URL is longer than ${MAX_ENDPOINT_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'URL does not parse' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'URL must use https' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'URL must not contain a user name or password' };
  }
  if (url.hostname === '') {
    return { ok: false, reason: 'URL has no host' };
  }

  const literal = parseHostLiteral(url.hostname);
  const loopback = literal === undefined ? isLocalhostName(url.hostname) : isLoopbackLiteral(literal);
  if (url.protocol === 'http:' && !(options.allowLoopback && loopback)) {
    return { ok: false, reason: 'URL must use https (http is allowed only for loopback in local mode)' };
  }
  if (literal !== undefined) {
    const verdict = classifyAddress(literal, options);
    return verdict.allowed
      ? { ok: true, url }
      : { ok: false, reason: `URL host ${literal} is refused: ${verdict.reason}` };
  }
  if (loopback && !options.allowLoopback) {
    return { ok: false, reason: 'URL host is localhost' };
  }
  if (isBlockedHost(url.hostname, options)) {
    return { ok: false, reason: 'URL host is not allowed' };
  }
  return { ok: true, url };
}

/**
 * Resolves a delivery host and checks every answer. Literal addresses are judged directly,
 * without the resolver. A name with any refused answer is refused as a whole, so an attacker
 * cannot mix a public address in to get lucky. The caller connects to exactly the returned
 * address.
 *
 * @param hostname - a URL hostname (brackets around IPv6 allowed)
 * @returns the first answer, all answers having been checked
 * @throws {@link BlockedAddressError} if the host is blocked or any address is refused
 * @throws {@link DnsNoAnswerError} (code `dns_no_answer`) if the resolver returns nothing
 */
export async function resolveAndCheck(
  hostname: string,
  resolver: Resolver,
  options: GuardOptions,
): Promise<{ address: string; family: 4 | 6 }> {
  const literal = parseHostLiteral(hostname);
  if (literal !== undefined) {
    return checked(literal, hostname, options);
  }
  if (isBlockedHost(hostname, options)) {
    throw new BlockedAddressError(`Host ${hostname} is not allowed`);
  }
  const answers = await resolver(hostname);
  if (answers.length === 0) {
    throw new DnsNoAnswerError(hostname);
  }
  const results = answers.map((answer) => checked(answer.address, hostname, options));
  return results[0]!;
}

function checked(
  address: string,
  hostname: string,
  options: GuardOptions,
): { address: string; family: 4 | 6 } {
  const literal = parseHostLiteral(address);
  const verdict = classifyAddress(address, options);
  if (literal === undefined || !verdict.allowed) {
    const reason = verdict.allowed ? 'not an IP address' : verdict.reason;
    throw new BlockedAddressError(`${hostname} resolves to ${address}: ${reason}`, address);
  }
  return { address: literal, family: isIP(literal) === 6 ? 6 : 4 };
}
