/**
 * The delivery function's DNS: the system's name servers asked through c-ares (`node:dns`
 * `Resolver`), never `dns.lookup`.
 *
 * `dns.lookup` is getaddrinfo(3) on libuv's threadpool (4 threads by default, shared with file
 * reads, crypto and zlib), and it gives up only when the OS does: a name whose server never
 * answers holds a thread for that long, and four such names stall every other lookup, and every
 * file read, of the instance. c-ares sends its queries from the event loop, so a hung name costs
 * a timer and a socket, nothing more, and other names resolve meanwhile.
 *
 * A and AAAA are asked in parallel and their answers merged, IPv4 first (the guard connects to
 * the first answer, and a Lambda outside a dual-stack VPC has no IPv6 route). A family with no
 * records (ENODATA), or none at all (ENOTFOUND), is no error when the other answers; once one
 * family has answered, the other gets {@link SECOND_FAMILY_GRACE_MS} more, so a server that
 * drops AAAA queries does not slow every connection to the deadline. The whole lookup has one
 * deadline ({@link DNS_LOOKUP_TIMEOUT_MS}): past it, it fails with a {@link DnsLookupError}
 * (code `ETIMEOUT`) without waiting for c-ares, which the sender records as a retryable
 * `dns_error`. c-ares's own timeout and tries are set so that it gives up on its own soon after.
 *
 * Two differences from getaddrinfo, on purpose. /etc/hosts is not read (c-ares's queries go to
 * the servers only), so `localhost` and `*.localhost` are answered here with loopback, as
 * RFC 6761 asks and as /etc/hosts did; the guard then refuses them unless loopback is allowed,
 * exactly as before. And no search domains are appended: the name is asked as written, a
 * webhook URL's host being a full name. IP literals are answered as themselves, never asked.
 */
import { Resolver as DnsResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DNS_LOOKUP_TIMEOUT_MS } from '../core/config.ts';
import { isLocalhostName, type Resolver } from '../core/ssrf.ts';

/** c-ares's wait for one query's answer before it asks again (it backs off on later tries). */
const QUERY_TIMEOUT_MS = 1_000;

/**
 * Queries c-ares sends per name server and family before it gives up itself: about 2 to 3 s
 * with one unanswering server (c-ares adapts its timeouts), so a lookup nobody waits for any
 * more is not asked again for long.
 */
const QUERY_TRIES = 2;

/** How long the second family may lag once the first has answered (RFC 8305 suggests 50 ms). */
export const SECOND_FAMILY_GRACE_MS = 250;

/** Codes meaning "this family has no address", as opposed to "the lookup failed". */
const NO_ADDRESS_CODES = new Set(['ENODATA', 'ENOTFOUND']);

/** A lookup that gave no address: `code` is c-ares's (ENOTFOUND, ESERVFAIL, ETIMEOUT, ...). */
export class DnsLookupError extends Error {
  constructor(
    readonly code: string,
    readonly hostname: string,
    message: string,
  ) {
    super(message);
    this.name = 'DnsLookupError';
  }
}

/** Options of {@link createSystemResolver}. */
export interface SystemResolverOptions {
  /** Deadline of one lookup, both families together. */
  readonly deadlineMs?: number;
  /** Name servers (`ip` or `ip:port`); the system's (/etc/resolv.conf) when absent. Tests set theirs. */
  readonly servers?: readonly string[];
  /** c-ares's per-query timeout and tries (tests raise them to show the deadline alone cuts a lookup). */
  readonly queryTimeoutMs?: number;
  readonly queryTries?: number;
}

type Answer = { address: string; family: 4 | 6 };

interface FamilyState {
  settled: boolean;
  addresses: string[];
  error?: NodeJS.ErrnoException;
}

/**
 * A {@link Resolver} asking c-ares (off the threadpool) for A and AAAA, with one deadline per
 * lookup. One c-ares channel serves every lookup, so its connections and query cache are shared.
 */
export function createSystemResolver(options: SystemResolverOptions = {}): Resolver {
  const deadlineMs = options.deadlineMs ?? DNS_LOOKUP_TIMEOUT_MS;
  const dns = new DnsResolver({
    timeout: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    tries: options.queryTries ?? QUERY_TRIES,
  });
  if (options.servers) dns.setServers([...options.servers]);

  return async (hostname) => {
    const name = hostname.toLowerCase().replace(/\.+$/, '');
    const family = isIP(name);
    if (family !== 0) return [{ address: name, family: family === 6 ? 6 : 4 }];
    if (isLocalhostName(name)) {
      return [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
    }
    return lookupBoth(dns, hostname, deadlineMs);
  };
}

function lookupBoth(dns: DnsResolver, hostname: string, deadlineMs: number): Promise<Answer[]> {
  return new Promise<Answer[]>((resolve, reject) => {
    const v4: FamilyState = { settled: false, addresses: [] };
    const v6: FamilyState = { settled: false, addresses: [] };
    let done = false;
    let grace: NodeJS.Timeout | undefined;

    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      const answers: Answer[] = [
        ...v4.addresses.map((address) => ({ address, family: 4 as const })),
        ...v6.addresses.map((address) => ({ address, family: 6 as const })),
      ];
      if (answers.length > 0) resolve(answers);
      else reject(failure(hostname, v4, v6, timedOut ? deadlineMs : undefined));
    };

    const settle = (state: FamilyState, outcome: string[] | NodeJS.ErrnoException) => {
      state.settled = true;
      if (Array.isArray(outcome)) state.addresses = outcome;
      else state.error = outcome;
      if (v4.settled && v6.settled) finish(false);
      else if (state.addresses.length > 0 && grace === undefined) {
        grace = setTimeout(() => finish(false), SECOND_FAMILY_GRACE_MS);
      }
    };

    const deadline = setTimeout(() => finish(true), deadlineMs);
    dns.resolve4(hostname).then(
      (addresses) => settle(v4, addresses),
      (error: NodeJS.ErrnoException) => settle(v4, error),
    );
    dns.resolve6(hostname).then(
      (addresses) => settle(v6, addresses),
      (error: NodeJS.ErrnoException) => settle(v6, error),
    );
  });
}

/** Why neither family gave an address, in words the attempt record can show. */
function failure(
  hostname: string,
  v4: FamilyState,
  v6: FamilyState,
  deadlineMs: number | undefined,
): DnsLookupError {
  if (deadlineMs !== undefined) {
    return new DnsLookupError(
      'ETIMEOUT',
      hostname,
      `DNS lookup of ${hostname} got no answer within ${deadlineMs} ms`,
    );
  }
  // A real failure (a timeout, SERVFAIL, a refusal) says more than "no such record".
  const errors = [v4.error, v6.error].filter((error) => error !== undefined);
  const cause = errors.find((error) => !NO_ADDRESS_CODES.has(error.code ?? '')) ?? errors[0];
  const code = cause?.code ?? 'ENOTFOUND';
  const message = NO_ADDRESS_CODES.has(code)
    ? `${hostname} has no A or AAAA record (${code})`
    : `DNS lookup of ${hostname} failed (${code})`;
  return new DnsLookupError(code, hostname, message);
}
