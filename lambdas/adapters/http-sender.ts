/**
 * Sends one webhook POST through the SSRF guard.
 *
 * The host is resolved by our own lookup, every answer is checked, and the socket connects
 * to the address that was checked: the guard's lookup is the only lookup, so a DNS answer
 * that changes between check and connect cannot get through. Connections are kept alive and
 * reused per origin. Redirects are never followed, the whole request has one deadline (a
 * receiver trickling bytes cannot stretch it), and at most `excerptBytes` of the response
 * are read before the connection is dropped.
 */

import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent, errors, request } from 'undici';
import { REQUEST_TIMEOUT_MS, RESPONSE_EXCERPT_BYTES } from '../core/config.ts';
import { DeliveryError } from '../core/errors.ts';
import {
  BlockedAddressError,
  type GuardOptions,
  parseHostLiteral,
  type Resolver,
  resolveAndCheck,
} from '../core/ssrf.ts';

/** What the receiver answered. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly retryAfter?: string;
  /** The first bytes of the body, decoded as UTF-8. */
  readonly excerpt: string;
  readonly durationMs: number;
}

/** The system resolver: every address of the name. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
};

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Options of a {@link WebhookSender}. */
export interface SenderOptions {
  readonly guard: GuardOptions;
  /** Injected in tests so the guard is exercised without touching real addresses. */
  readonly resolver?: Resolver;
  readonly timeoutMs?: number;
  readonly excerptBytes?: number;
}

/** A keep-alive HTTP client whose every connection passes the SSRF guard. */
export class WebhookSender {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly excerptBytes: number;

  constructor(private readonly options: SenderOptions) {
    const resolver = options.resolver ?? systemResolver;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.excerptBytes = options.excerptBytes ?? RESPONSE_EXCERPT_BYTES;
    const guardedLookup = (
      hostname: string,
      lookupOptions: { all?: boolean },
      callback: LookupCallback,
    ): void => {
      resolveAndCheck(hostname, resolver, options.guard).then(
        (checked) => {
          if (lookupOptions.all) callback(null, [{ address: checked.address, family: checked.family }]);
          else callback(null, checked.address, checked.family);
        },
        (error: Error) => callback(error as NodeJS.ErrnoException, ''),
      );
    };
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connect: { timeout: Math.min(this.timeoutMs, 10_000), lookup: guardedLookup as never },
    });
  }

  /**
   * POSTs `body` to `url`. Resolves with the answer whatever its status; rejects with a
   * {@link DeliveryError} when no answer came (blocked address, timeout, connection error).
   */
  async post(url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
    const started = performance.now();
    const target = new URL(url);
    // Literal addresses never reach the lookup, so they are checked here.
    const literal = parseHostLiteral(target.hostname);
    if (literal !== undefined) await this.check(literal);
    else if (this.options.guard.blockedHosts?.length) await this.check(target.hostname, true);

    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await request(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'aws-serverless-webhooks/0.1',
          ...headers,
        },
        body,
        dispatcher: this.agent,
        signal,
      });
      const excerpt = await readExcerpt(response.body, this.excerptBytes);
      const retryAfter = response.headers['retry-after'];
      return {
        statusCode: response.statusCode,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        excerpt,
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      throw toDeliveryError(error, signal.aborted, this.timeoutMs);
    }
  }

  private async check(host: string, nameOnly = false): Promise<void> {
    try {
      if (nameOnly) {
        const normalised = host.toLowerCase().replace(/\.$/, '');
        if (
          this.options.guard.blockedHosts?.some(
            (blocked) => blocked.toLowerCase().replace(/\.$/, '') === normalised,
          )
        ) {
          throw new BlockedAddressError(`host ${host} is this service's own API`);
        }
        return;
      }
      await resolveAndCheck(host, async () => [], this.options.guard);
    } catch (error) {
      throw toDeliveryError(error, false, this.timeoutMs);
    }
  }

  /** Closes pooled connections (local mode and tests). */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readExcerpt(
  body: AsyncIterable<Buffer> & { destroy(): void },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      // Enough to show the operator; drop the rest rather than download a huge body.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function findBlocked(error: unknown): BlockedAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof BlockedAddressError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function toDeliveryError(error: unknown, timedOut: boolean, timeoutMs: number): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const blocked = findBlocked(error);
  if (blocked) return new DeliveryError('blocked_address', blocked.message, false);
  if (
    timedOut ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError
  ) {
    return new DeliveryError('timeout', `no complete answer within ${timeoutMs} ms`, true);
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code;
  if (code === 'dns_no_answer' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DeliveryError('dns_error', `could not resolve the host (${code})`, true);
  }
  const message = (error as Error).message ?? String(error);
  return new DeliveryError('connection_error', code ? `${code}: ${message}` : message, true);
}
