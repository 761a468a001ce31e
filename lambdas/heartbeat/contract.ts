/**
 * What the heartbeat's CDK construct (lib/heartbeat.ts) and its three handlers agree on: the
 * names of the tenant, endpoint, key and event the synthetic delivery check uses, the
 * environment variables that carry the rest, and the metric the alarm watches. Pure data: the
 * stack imports this without pulling the handlers' AWS SDK clients into the CDK app.
 */

/** The tenant the heartbeat's endpoint lives in, apart from every customer's. */
export const HEARTBEAT_TENANT_ID = 'webhooks-heartbeat';

/**
 * The receiver's endpoint id: fixed (a valid `ep_` id, 26 Crockford characters), so that the stack
 * knows the name of its secret (`<endpoint secret prefix>/<id>`) and grants the receiver that one
 * secret only.
 */
export const HEARTBEAT_ENDPOINT_ID = 'ep_00000000000000000HEARTBEAT';

/** Id (and name) of the heartbeat's send-only key in the API key document. */
export const HEARTBEAT_KEY_ID = 'heartbeat';

/** The event type every heartbeat has; the endpoint subscribes to this type only. */
export const HEARTBEAT_EVENT_TYPE = 'webhooks.heartbeat';

/** Physical id of the setup custom resource: one per stack, never replaced. */
export const HEARTBEAT_SETUP_RESOURCE_ID = 'heartbeat-setup';

/** The embedded-metric-format metric the receiver adds for each verified heartbeat. */
export const HEARTBEAT_VERIFIED_METRIC = 'HeartbeatVerified';

/** Powertools service names (the `service` dimension of their metrics). */
export const HEARTBEAT_SERVICE_NAMES = {
  sender: 'webhooks-heartbeat-sender',
  receiver: 'webhooks-heartbeat-receiver',
  setup: 'webhooks-heartbeat-setup',
} as const;

/** Environment variables of the heartbeat's functions. */
export const HEARTBEAT_ENV = {
  /** Sender: base URL of the stack's API (`ApiUrl`). */
  apiUrl: 'HEARTBEAT_API_URL',
  /** Sender (read) and setup (write): ARN of the secret holding the send-only key in plaintext. */
  keySecretId: 'HEARTBEAT_KEY_SECRET_ID',
  /** Receiver: name of the endpoint's signing secret. */
  endpointSecretName: 'HEARTBEAT_ENDPOINT_SECRET_NAME',
} as const;

/** Property names of the setup custom resource (CloudFormation passes them as strings). */
export const HEARTBEAT_SETUP_PROPERTIES = {
  /** The receiver's Function URL, the endpoint's `url`. */
  receiverUrl: 'ReceiverUrl',
} as const;

/** The body the sender posts to `POST /events`. */
export interface HeartbeatRequest {
  readonly type: typeof HEARTBEAT_EVENT_TYPE;
  readonly tenantId: typeof HEARTBEAT_TENANT_ID;
  readonly data: { readonly sentAt: string };
}

/** The heartbeat event sent at `now`. */
export function heartbeatRequest(now: Date): HeartbeatRequest {
  return { type: HEARTBEAT_EVENT_TYPE, tenantId: HEARTBEAT_TENANT_ID, data: { sentAt: now.toISOString() } };
}

/**
 * Milliseconds from the heartbeat's `sentAt` to `nowMs`, read from a verified delivery body
 * (`{type, timestamp, data}`); undefined if the body is not a heartbeat.
 */
export function heartbeatAgeMs(body: unknown, nowMs: number): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { type, data } = body as { type?: unknown; data?: unknown };
  if (type !== HEARTBEAT_EVENT_TYPE || typeof data !== 'object' || data === null) return undefined;
  const sentAt = (data as { sentAt?: unknown }).sentAt;
  const sentMs = typeof sentAt === 'string' ? Date.parse(sentAt) : Number.NaN;
  return Number.isFinite(sentMs) ? Math.max(0, nowMs - sentMs) : undefined;
}
