/**
 * What every route module shares: the injected side effects, the clock, each tenant's briefly
 * cached endpoint list, who is calling and which tenant that lets them see, and the small lookups
 * most routes start with.
 */
import type { RedriveOutcome } from '../adapters/dlq.ts';
import type { EndpointSecrets } from '../adapters/secrets.ts';
import type { EndpointTransitions } from '../adapters/store/endpoint-transitions.ts';
import type { OperationalEventsRepository } from '../adapters/store/operational-events.ts';
import type { EndpointRecord, Store } from '../adapters/store.ts';
import { decodeCursor } from '../adapters/store.ts';
import type { StoredApiKey } from '../core/api-keys.ts';
import { ENDPOINT_CACHE_TTL_MS } from '../core/config.ts';
import { badRequest, notFound } from '../core/errors.ts';
import { isEndpointId } from '../core/ids.ts';
import type { OperationalEventPublisher } from '../core/operational-events.ts';
import type { DeliveryMessage } from '../core/payload.ts';
import type { Principal } from '../core/principal.ts';
import { checkEndpointUrl, type GuardOptions } from '../core/ssrf.ts';
import { DEFAULT_TENANT, isTenantId, type TenantRecord } from '../core/tenants.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import type { ApiRequest } from './router.ts';

/** The side effects of the API, injected. */
export interface ApiDeps {
  readonly store: Store;
  readonly secrets: Pick<EndpointSecrets, 'create' | 'rotate' | 'delete' | 'setHeaders'>;
  /** The stored API key hashes; `add` and `revoke` change them (POST and DELETE /api-keys). */
  readonly apiKeys: {
    get(): Promise<readonly StoredApiKey[]>;
    add?(key: StoredApiKey): Promise<void>;
    revoke?(id: string): Promise<boolean>;
  };
  /** The key that signs portal session tokens. */
  readonly portalKey: { get(): Promise<Uint8Array> };
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
  /**
   * Where `dlq.redriven` and `endpoint.disabled` by hand go: the Lambda handler hands them to the
   * delivery worker through the delivery queue (the worker records and publishes them); none when absent.
   */
  readonly operationalEvents?: OperationalEventPublisher;
  /** The recorded operational events (`GET /operational-events`); that route answers 501 without. */
  readonly operationalEventLog?: Pick<OperationalEventsRepository, 'listOperationalEvents'>;
  /** The conditional disable whose success is the one `endpoint.disabled` of a PATCH. */
  readonly endpointTransitions?: Pick<EndpointTransitions, 'disableIfEnabled'>;
  readonly now?: () => number;
  /** Warnings that are not a request's failure (an event left to the sweep). */
  readonly warn?: (message: string, extra: Record<string, unknown>) => void;
}

/** A tenant's endpoints for fan-out, or undefined when the tenant does not exist. */
type TenantEndpoints = EndpointRecord[] | undefined;

/** The principal of a request that got past authentication (ApiApp sets it). */
export function principalOf(request: ApiRequest): Principal {
  if (!request.principal) throw new Error('route reached without a principal');
  return request.principal;
}

/** Shared by the route modules. */
export class ApiContext {
  readonly now: () => number;
  /**
   * Each tenant's endpoints, cached for {@link ENDPOINT_CACHE_TTL_MS}; this instance drops a
   * tenant's list at every change it makes to that tenant's endpoints.
   */
  readonly endpointLists: TtlCache<TenantEndpoints>;

  constructor(readonly deps: ApiDeps) {
    this.now = deps.now ?? Date.now;
    this.endpointLists = new TtlCache(ENDPOINT_CACHE_TTL_MS, this.now);
  }

  /** A tenant's endpoints (one Query of its partition, cached briefly); undefined if there is no such tenant. */
  tenantEndpoints(tenantId: string): Promise<TenantEndpoints> {
    return this.endpointLists.get(tenantId, async () => {
      const [tenant, endpoints] = await Promise.all([
        this.tenantExists(tenantId),
        this.deps.store.tenantEndpoints(tenantId),
      ]);
      return tenant ? endpoints : undefined;
    });
  }

  endpointsChanged(tenantId: string): void {
    this.endpointLists.delete(tenantId);
  }

  /** Whether a tenant exists: `default` always does. */
  async tenantExists(tenantId: string): Promise<boolean> {
    return tenantId === DEFAULT_TENANT || (await this.deps.store.getTenant(tenantId)) !== undefined;
  }

  /** The tenant record, or 404. `default` has one even if it was never written. */
  async tenantOr404(tenantId: string): Promise<TenantRecord> {
    const stored = isTenantId(tenantId) ? await this.deps.store.getTenant(tenantId) : undefined;
    if (stored) return stored;
    if (tenantId === DEFAULT_TENANT) {
      const epoch = new Date(0).toISOString();
      return { id: DEFAULT_TENANT, name: 'Default', createdAt: epoch, updatedAt: epoch };
    }
    throw notFound('tenant', tenantId);
  }

  /**
   * The tenant a request acts on: a portal session's own (naming another answers 404, as if it
   * did not exist), else the one named, else `default`.
   */
  tenantFor(request: ApiRequest, named: string | undefined): string {
    const principal = principalOf(request);
    if (principal.kind === 'portal') {
      if (named !== undefined && named !== principal.tenantId) throw notFound('tenant', named);
      return principal.tenantId;
    }
    return named ?? DEFAULT_TENANT;
  }

  /** The tenant a portal session is limited to; undefined for a key (which sees every tenant). */
  portalTenant(request: ApiRequest): string | undefined {
    const principal = principalOf(request);
    return principal.kind === 'portal' ? principal.tenantId : undefined;
  }

  /** The endpoint, or 404 when it does not exist or belongs to a tenant the caller may not see. */
  async endpointOr404(id: string, request?: ApiRequest): Promise<EndpointRecord> {
    const endpoint = isEndpointId(id) ? await this.deps.store.getEndpoint(id) : undefined;
    if (!endpoint) throw notFound('endpoint', id);
    const limited = request ? this.portalTenant(request) : undefined;
    if (limited !== undefined && (endpoint.tenantId ?? DEFAULT_TENANT) !== limited)
      throw notFound('endpoint', id);
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
