/**
 * Operational events: what happens to endpoints and deliveries, published to an EventBridge bus
 * (lambdas/adapters/event-bus.ts) so that operators route it to SNS, chat or a pager with a rule
 * instead of polling. Pure: the types, the zod schemas of each event's `detail` (version 1), and
 * their JSON Schemas for the documentation (docs/operational-events.md).
 *
 * Every event has `source` {@link OPERATIONAL_EVENT_SOURCE} and one of
 * {@link OPERATIONAL_EVENT_TYPES} as its `detail-type`. A detail always carries `version` and
 * `occurredAt`; a field is only ever added to a version, never renamed or removed (that would be
 * version 2, published beside version 1 for a while).
 */
import * as z from 'zod/mini';

/** The `source` of every operational event. */
export const OPERATIONAL_EVENT_SOURCE = 'webhooks';

/** The metric a lost operational event adds one to (namespace `Webhooks`, dimension `service`). */
export const OPERATIONAL_EVENTS_FAILED_METRIC = 'OperationalEventsFailed';

/** The metric an operational event published but not recorded (for `GET /operational-events`) adds one to. */
export const OPERATIONAL_EVENTS_UNRECORDED_METRIC = 'OperationalEventsUnrecorded';

/** The version of every detail schema below. */
export const OPERATIONAL_EVENT_VERSION = 1;

/** The tenant of an endpoint made before tenants existed. */
export const DEFAULT_TENANT_ID = 'default';

/** Every detail-type, in the order the documentation lists them. */
export const OPERATIONAL_EVENT_TYPES = [
  'endpoint.disabled',
  'endpoint.circuit_opened',
  'endpoint.recovered',
  'delivery.dead',
  'dlq.redriven',
] as const;

export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** Why an endpoint was disabled: its receiver answered 410, it failed too long, or an operator did it. */
export const DISABLE_REASONS = ['gone', 'failing_too_long', 'manual'] as const;
export type DisableReason = (typeof DISABLE_REASONS)[number];

/** Why a delivery is dead (the causes of lambdas/delivery/decide.ts). */
export const DEAD_CAUSES = ['budget_spent', 'not_retryable', 'gone', 'endpoint_unavailable'] as const;

/**
 * The detail schema of each detail-type. Built on first use, not at import: the delivery
 * function imports this module's types and constants only, and its bundle leaves zod out.
 */
function buildSchemas() {
  const count = z.int().check(z.nonnegative());
  const time = z.iso.datetime();
  const text = z.string().check(z.minLength(1));
  const common = { version: z.literal(OPERATIONAL_EVENT_VERSION), occurredAt: time };
  const endpoint = { ...common, endpointId: text, tenantId: text };
  return {
    'endpoint.disabled': z.strictObject({
      ...endpoint,
      reason: z.enum(DISABLE_REASONS),
      /** The endpoint's `disabledReason`, in words. */
      description: z.string(),
      failureStreak: z.optional(count),
      failingSince: z.optional(time),
      /** The delivery whose answer disabled it (reason `gone`). */
      deliveryId: z.optional(text),
    }),
    'endpoint.circuit_opened': z.strictObject({
      ...endpoint,
      failureStreak: z.int().check(z.positive()),
      failingSince: time,
      openUntil: time,
      openSeconds: z.int().check(z.positive()),
      lastStatusCode: z.optional(z.int()),
      lastError: z.optional(z.string()),
    }),
    'endpoint.recovered': z.strictObject({
      ...endpoint,
      failureStreak: count,
      failingSince: z.optional(time),
      downSeconds: z.optional(count),
      deliveryId: text,
    }),
    'delivery.dead': z.strictObject({
      ...endpoint,
      deliveryId: text,
      eventId: text,
      eventType: z.string(),
      cause: z.enum(DEAD_CAUSES),
      attempts: count,
      lastStatusCode: z.optional(z.int()),
      lastError: z.optional(z.string()),
      trackingId: z.optional(z.string()),
    }),
    'dlq.redriven': z.strictObject({
      ...common,
      mode: z.enum(['move-task', 'copied']),
      taskHandle: z.optional(text),
      moved: z.optional(count),
      approximateMessages: z.optional(count),
    }),
  } as const satisfies Record<OperationalEventType, z.ZodMiniType>;
}

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;

/** The zod schema of each detail-type's detail. */
export function operationalEventSchemas(): Schemas {
  schemas ??= buildSchemas();
  return schemas;
}

/** The detail of one detail-type (see docs/operational-events.md for each field). */
export type OperationalEventDetail<T extends OperationalEventType> = z.infer<Schemas[T]>;

/** One operational event: its detail-type and its detail. */
export type OperationalEvent = {
  [T in OperationalEventType]: { readonly detailType: T; readonly detail: OperationalEventDetail<T> };
}[OperationalEventType];

/**
 * Where operational events go: the EventBridge publisher (lambdas/adapters/event-bus.ts), or a
 * test's list. `publish` never throws and never rejects: a lost event is counted, not raised.
 */
export interface OperationalEventPublisher {
  publish(event: OperationalEvent): Promise<void>;
}

/** Builds an event, `version` filled in. */
export function operationalEvent<T extends OperationalEventType>(
  detailType: T,
  detail: Omit<OperationalEventDetail<T>, 'version'>,
): OperationalEvent {
  // The union is of each detail-type with its own detail: TypeScript cannot follow `T` into it.
  return {
    detailType,
    detail: { version: OPERATIONAL_EVENT_VERSION, ...detail },
  } as unknown as OperationalEvent;
}

/** Whether `detail` is a valid detail of `detailType`, by its published schema. */
export function validateOperationalEvent(
  detailType: string,
  detail: unknown,
): { ok: true } | { ok: false; error: string } {
  if (!(OPERATIONAL_EVENT_TYPES as readonly string[]).includes(detailType)) {
    return { ok: false, error: `unknown detail-type ${JSON.stringify(detailType)}` };
  }
  const result = operationalEventSchemas()[detailType as OperationalEventType].safeParse(detail);
  return result.success ? { ok: true } : { ok: false, error: z.prettifyError(result.error) };
}

/**
 * The JSON Schema (draft 2020-12) of each detail-type's detail, as docs/operational-events.md
 * publishes it: for an EventBridge schema registry, or a consumer's own validation.
 */
export function operationalEventJsonSchemas(): Record<OperationalEventType, Record<string, unknown>> {
  const all = operationalEventSchemas();
  return Object.fromEntries(
    OPERATIONAL_EVENT_TYPES.map((type) => [
      type,
      {
        ...(z.toJSONSchema(all[type], { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>),
        $id: `urn:${OPERATIONAL_EVENT_SOURCE}:operational-event:${type}:v${OPERATIONAL_EVENT_VERSION}`,
        title: `${type} (source ${OPERATIONAL_EVENT_SOURCE}), detail version ${OPERATIONAL_EVENT_VERSION}`,
      },
    ]),
  ) as unknown as Record<OperationalEventType, Record<string, unknown>>;
}
