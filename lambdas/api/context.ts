/**
 * What every route module shares: the injected side effects, the clock, the briefly cached
 * endpoint list, and the small lookups most routes start with.
 */
import type { RedriveOutcome } from '../adapters/dlq.ts';
import type { EndpointSecrets } from '../adapters/secrets.ts';
import type { EndpointRecord, Store } from '../adapters/store.ts';
import { decodeCursor } from '../adapters/store.ts';
import type { StoredApiKey } from '../core/api-keys.ts';
import { ENDPOINT_CACHE_TTL_MS } from '../core/config.ts';
import { badRequest, notFound } from '../core/errors.ts';
import { isEndpointId } from '../core/ids.ts';
import type { DeliveryMessage } from '../core/payload.ts';
import { checkEndpointUrl, type GuardOptions } from '../core/ssrf.ts';
import { TtlCache } from '../core/ttl-cache.ts';

/** The side effects of the API, injected. */
export interface ApiDeps {
  readonly store: Store;
  readonly secrets: Pick<EndpointSecrets, 'create' | 'rotate' | 'delete'>;
  readonly apiKeys: { get(): Promise<readonly StoredApiKey[]> };
  readonly queue: {
    /** Sends messages until the deadline; resolves to the delivery ids that did not go out. */
    enqueue(messages: readonly DeliveryMessage[], options: { deadlineMs: number }): Promise<string[]>;
    enqueueOne(message: DeliveryMessage): Promise<void>;
    /** Queues the release of an endpoint's backlog (see lambdas/delivery/backlog.ts). */
    release(endpointId: string): Promise<void>;
    /** Schedules the event checks of events sent with an Idempotency-Key. */
    scheduleEventChecks(eventIds: readonly string[]): Promise<void>;
    /** Messages in the dead-letter queue, visible and in flight. */
    deadLetterDepth(): Promise<{ visible: number; inFlight: number }>;
    /** Moves the dead-letter queue back to the delivery queue. */
    redriveDeadLetters(): Promise<RedriveOutcome>;
  };
  readonly guard: GuardOptions;
  readonly now?: () => number;
  /** Warnings that are not a request's failure (an event left to the sweep). */
  readonly warn?: (message: string, extra: Record<string, unknown>) => void;
}

/** Shared by the route modules. */
export class ApiContext {
  readonly now: () => number;
  /** Every endpoint, cached for {@link ENDPOINT_CACHE_TTL_MS}; dropped on every endpoint change. */
  readonly endpointList: TtlCache<EndpointRecord[]>;

  constructor(readonly deps: ApiDeps) {
    this.now = deps.now ?? Date.now;
    this.endpointList = new TtlCache(ENDPOINT_CACHE_TTL_MS, this.now);
  }

  allEndpoints(): Promise<EndpointRecord[]> {
    return this.endpointList.get('all', () => this.deps.store.allEndpoints());
  }

  endpointsChanged(): void {
    this.endpointList.delete('all');
  }

  async endpointOr404(id: string): Promise<EndpointRecord> {
    const endpoint = isEndpointId(id) ? await this.deps.store.getEndpoint(id) : undefined;
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }

  checkUrl(raw: string): string {
    const checked = checkEndpointUrl(raw, this.deps.guard);
    if (!checked.ok) throw badRequest('invalid_url', checked.reason);
    return checked.url.toString();
  }

  cursor(raw: string, keys: readonly string[]): Record<string, unknown> {
    const cursor = decodeCursor(raw, keys);
    if (!cursor) throw badRequest('invalid_cursor', 'cursor is not one this API issued for this query');
    return cursor;
  }
}
