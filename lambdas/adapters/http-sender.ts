/**
 * Sends one webhook POST through the SSRF guard, with Node's own http/https modules.
 *
 * The host is resolved by our own lookup, every answer is checked, and the socket connects
 * to the address that was checked: the guard's lookup is the only lookup, so a DNS answer
 * that changes between check and connect cannot get through. That lookup asks c-ares, on the
 * event loop, with its own deadline (see dns-resolver.ts), not `dns.lookup` on libuv's
 * threadpool: a name whose server never answers fails that delivery as a retryable `dns_error`
 * and holds up no other endpoint's lookup. Connections are kept alive and reused per origin.
 * Redirects are never followed (Node's client does not follow them), the
 * whole request has one deadline (a receiver trickling bytes cannot stretch it), and at most
 * `excerptBytes` of the response are read before the connection is dropped.
 *
 * Node's built-in client rather than undici: the same keep-alive pooling and pluggable
 * lookup, and half a megabyte less to load on every cold start.
 *
 * Proxy variables are ignored on purpose: `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` (either
 * case) and Node's `NODE_USE_ENV_PROXY` / `--use-env-proxy`, which since Node 22.21 and 24.5 make
 * the default agent (and `fetch`) send through the proxy they name. Through a proxy, the
 * address the guard checked would no longer be the address connected to: the proxy would
 * resolve the name again and could reach what the guard refuses, its own network included.
 * So every request goes through this module's own agents (never the global one, never
 * `fetch`), built with `proxyEnv: null`: a custom agent uses no proxy today unless given a
 * `proxyEnv`, and a falsy one is the opt-out Node keeps should custom agents come to inherit
 * the environment's proxy too. A test runs the sender with every one of these variables set.
 */
import type { LookupAddress } from 'node:dns';
import type * as NodeHttp from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { REQUEST_TIMEOUT_MS, RESPONSE_EXCERPT_BYTES } from '../core/config.ts';
import { DeliveryError } from '../core/errors.ts';
import {
  BlockedAddressError,
  type GuardOptions,
  parseHostLiteral,
  type Resolver,
  resolveAndCheck,
} from '../core/ssrf.ts';
import { createSystemResolver, DnsLookupError } from './dns-resolver.ts';

/**
 * node:http by require(), not `import`: an ES module import builds the module's namespace, which
 * reads every export, and Node 22's lazy `http.WebSocket` getter then loads undici's WebSocket,
 * some 15 ms of every cold start for a class never used. require() reads nothing it is not asked.
 */
const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

/** What the receiver answered. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly retryAfter?: string;
  /** The first bytes of the body, decoded as UTF-8. */
  readonly excerpt: string;
  readonly durationMs: number;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Options of a {@link WebhookSender}. */
export interface SenderOptions {
  readonly guard: GuardOptions;
  /**
   * Injected in tests so the guard is exercised without touching real addresses; the system's
   * name servers through c-ares ({@link createSystemResolver}) when absent.
   */
  readonly resolver?: Resolver;
  readonly timeoutMs?: number;
  readonly excerptBytes?: number;
}

/** URLs whose static checks are remembered (endpoints are few; the map is simply cleared when full). */
const PRECHECK_CACHE_SIZE = 1000;

/** How long an idle pooled connection is kept. Receivers commonly close after 5 s or more. */
const KEEP_ALIVE_MS = 4_000;

/** A keep-alive HTTP client whose every connection passes the SSRF guard. */
export class WebhookSender {
  private readonly httpAgent: NodeHttp.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly timeoutMs: number;
  private readonly excerptBytes: number;
  private readonly prechecked = new Map<string, URL | DeliveryError>();

  constructor(private readonly options: SenderOptions) {
    const resolver = options.resolver ?? createSystemResolver();
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.excerptBytes = options.excerptBytes ?? RESPONSE_EXCERPT_BYTES;
    const lookup = (hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback): void => {
      resolveAndCheck(hostname, resolver, options.guard).then(
        (checked) => {
          if (lookupOptions.all) callback(null, [{ address: checked.address, family: checked.family }]);
          else callback(null, checked.address, checked.family);
        },
        (error: Error) => callback(error as NodeJS.ErrnoException, ''),
      );
    };
    // `timeout` lets idle pooled sockets go before receivers close them under us. `proxyEnv: null`:
    // never a proxy from the environment, whatever NODE_USE_ENV_PROXY says (see the top of the file).
    const agentOptions = {
      keepAlive: true,
      timeout: KEEP_ALIVE_MS,
      scheduling: 'lifo' as const,
      lookup,
      proxyEnv: null,
    };
    this.httpAgent = new http.Agent(agentOptions as NodeHttp.AgentOptions);
    this.httpsAgent = new https.Agent(agentOptions as https.AgentOptions);
  }

  /**
   * POSTs `body` to `url`. Resolves with the answer whatever its status; rejects with a
   * {@link DeliveryError} when no complete answer came (blocked address, timeout, connection error).
   */
  async post(url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
    const started = performance.now();
    const target = await this.precheck(url);
    const payload = Buffer.from(body, 'utf8');
    return new Promise<HttpAnswer>((resolve, reject) => {
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        // Always one of ours: without it Node would use its global agent, which may use a proxy.
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          'user-agent': 'aws-serverless-webhooks/0.1',
          ...headers,
        },
      });
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        request.destroy();
        reject(toDeliveryError(error, this.timeoutMs));
      };
      // One deadline for the whole exchange: connect, headers and body.
      const deadline = setTimeout(
        () => fail(new DeliveryError('timeout', `no complete answer within ${this.timeoutMs} ms`, true)),
        this.timeoutMs,
      );
      request.on('error', fail);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const retryAfter = response.headers['retry-after'];
          resolve({
            statusCode: response.statusCode ?? 0,
            ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
            excerpt: Buffer.concat(chunks).subarray(0, this.excerptBytes).toString('utf8'),
            durationMs: Math.round(performance.now() - started),
          });
        };
        response.on('data', (chunk: Buffer) => {
          if (settled) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= this.excerptBytes) {
            // Enough to show the operator: drop the rest (and this connection) rather than download it.
            finish();
            response.destroy();
          }
        });
        response.on('end', finish);
        response.on('error', fail);
        response.on('close', () => {
          if (!response.complete && !settled) {
            fail(new DeliveryError('connection_error', 'receiver closed the connection mid-response', true));
          }
        });
      });
      request.end(payload);
    });
  }

  /**
   * Parses the URL and applies the checks that need no DNS (literal addresses, which never
   * reach the lookup, and the blocked host names), once per URL: endpoints repeat.
   */
  private async precheck(url: string): Promise<URL> {
    const cached = this.prechecked.get(url);
    if (cached) {
      if (cached instanceof DeliveryError) throw cached;
      return cached;
    }
    const target = new URL(url);
    const literal = parseHostLiteral(target.hostname);
    let outcome: URL | DeliveryError = target;
    try {
      await resolveAndCheck(literal ?? target.hostname, async () => [], this.options.guard).catch(
        (error: Error) => {
          // For names, the empty resolver only lets blockedHosts be checked up front; the real
          // resolution happens in the agent's lookup, at connect time.
          if (literal === undefined && (error as { code?: string }).code === 'dns_no_answer') return;
          throw error;
        },
      );
    } catch (error) {
      outcome = toDeliveryError(error, this.timeoutMs);
    }
    if (this.prechecked.size >= PRECHECK_CACHE_SIZE) this.prechecked.clear();
    this.prechecked.set(url, outcome);
    if (outcome instanceof DeliveryError) throw outcome;
    return outcome;
  }

  /** Closes pooled connections (local mode and tests). */
  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function findBlocked(error: unknown): BlockedAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof BlockedAddressError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function toDeliveryError(error: unknown, timeoutMs: number): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof DnsLookupError) return new DeliveryError('dns_error', error.message, true);
  const blocked = findBlocked(error);
  if (blocked) return new DeliveryError('blocked_address', blocked.message, false);
  const code = (error as { code?: string }).code;
  if (code === 'ETIMEDOUT')
    return new DeliveryError('timeout', `no complete answer within ${timeoutMs} ms`, true);
  if (code === 'dns_no_answer' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DeliveryError('dns_error', `could not resolve the host (${code})`, true);
  }
  const message = (error as Error).message ?? String(error);
  return new DeliveryError('connection_error', code ? `${code}: ${message}` : message, true);
}
