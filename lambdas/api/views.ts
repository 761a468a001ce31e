/**
 * What the API shows of stored records: stable field names, ISO times, no storage keys,
 * and never an endpoint's secret.
 */

import type { AttemptRecord, DeliveryRecord, EndpointRecord, EventRecord } from '../adapters/store.ts';
import type { StoredApiKey } from '../core/api-keys.ts';
import { deliveryId, parseDeliveryId } from '../core/ids.ts';
import { DEFAULT_TENANT, type TenantRecord } from '../core/tenants.ts';

export function publicEndpoint(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    tenantId: endpoint.tenantId ?? DEFAULT_TENANT,
    url: endpoint.url,
    eventTypes: endpoint.eventTypes ?? ['*'],
    description: endpoint.description ?? null,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason ?? null,
    failureStreak: endpoint.failureStreak ?? 0,
    failingSince: endpoint.failingSince ?? null,
    circuitOpenUntil: endpoint.circuitOpenUntil ? new Date(endpoint.circuitOpenUntil).toISOString() : null,
    rateLimit: endpoint.rateLimit ?? null,
    filter: endpoint.filter ?? null,
    /** Only the names: the values stay in the endpoint's secret and are never shown again. */
    headerNames: endpoint.headerNames ?? [],
    /** Whether deliveries are held for it (open circuit, rate limit); `GET /endpoints/{id}` says how many. */
    hasBacklog: endpoint.backlogShard !== undefined,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}

export function publicTenant(tenant: TenantRecord) {
  return {
    id: tenant.id,
    name: tenant.name ?? null,
    metadata: tenant.metadata ?? {},
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  };
}

/** A key as listed: never its hash. */
export function publicApiKey(key: StoredApiKey) {
  return {
    id: key.id,
    scope: key.scope ?? 'admin',
    name: key.name ?? null,
    createdAt: key.createdAt ?? null,
  };
}

export function publicEvent(event: EventRecord, data: unknown) {
  return {
    id: event.id,
    tenantId: event.tenantId ?? DEFAULT_TENANT,
    type: event.type,
    createdAt: new Date(event.createdAtMs).toISOString(),
    /** `accepted` until every delivery message went out (the sweep finishes it), then `queued`. */
    state: event.state ?? 'queued',
    data,
  };
}

export function publicDelivery(record: DeliveryRecord) {
  return {
    id: record.id,
    eventId: record.eventId,
    endpointId: record.endpointId,
    tenantId: record.tenantId ?? DEFAULT_TENANT,
    eventType: record.eventType,
    status: record.status,
    trackingId: record.trackingId ?? null,
    attemptCount: record.attempts ?? 0,
    // The id carries the event time too: a record written without it still has a creation time.
    createdAt: new Date(
      record.createdAtMs ?? parseDeliveryId(record.id)?.eventCreatedAtMs ?? 0,
    ).toISOString(),
    lastAttempt: record.lastAttempt ?? null,
    deliveredAt: record.deliveredAt ?? null,
    nextAttemptAt: record.nextAttemptAt ?? null,
    redrives: record.redrives ?? 0,
    retryQueuedAt: record.retryQueuedAt ?? null,
  };
}

/**
 * A delivery with no record yet: its message is queued (or, while the event is accepted, about to
 * be). Its tenant and Trackingid are the event's, as its record will carry them.
 */
export function pendingDelivery(event: EventRecord, endpointId: string) {
  return {
    id: deliveryId(event.id, endpointId, event.createdAtMs),
    eventId: event.id,
    endpointId,
    tenantId: event.tenantId ?? DEFAULT_TENANT,
    eventType: event.type,
    status: 'pending',
    trackingId: event.trackingId ?? null,
    attemptCount: 0,
    createdAt: new Date(event.createdAtMs).toISOString(),
  };
}

/**
 * Every attempt, oldest first: failed ones are stored as items (with the response excerpt);
 * a successful last attempt lives only in the delivery's summary.
 */
export function publicAttempts(record: DeliveryRecord, failed: readonly AttemptRecord[]): AttemptRecord[] {
  const attempts = [...failed];
  const last = record.lastAttempt;
  if (last && !attempts.some((attempt) => attempt.attempt === last.attempt)) attempts.push(last);
  return attempts.sort((a, b) => a.attempt - b.attempt);
}
