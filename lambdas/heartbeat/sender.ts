/**
 * Heartbeat sender: run every minute by a schedule, it sends one `webhooks.heartbeat` event
 * through the stack's public API (`POST <ApiUrl>/events` with the heartbeat's send-only key), the
 * way a customer's backend sends one. From there the event takes a customer's whole path
 * (gateway, authorizer, ingest, queue, worker, signing, SSRF guard, attempt log) to the
 * heartbeat receiver, whose verified count the alarm watches. The sender only reports what the
 * API answered: a failed send is simply a missing heartbeat, and the next minute's is the retry.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretsManager } from '../adapters/clients.ts';
import { requireEnv } from '../adapters/env.ts';
import { Logger } from '../adapters/telemetry.ts';
import { HEARTBEAT_ENV, HEARTBEAT_SERVICE_NAMES, heartbeatRequest } from './contract.ts';

/** How long the API gets to answer (its own function times out well within this). */
export const HEARTBEAT_SEND_TIMEOUT_MS = 10_000;

/** What one send came to. */
export interface SendReport {
  readonly status: number;
  readonly trackingId?: string;
  readonly eventId?: string;
  /** Deliveries the API queued for the heartbeat: 1 unless its endpoint is gone or disabled. */
  readonly deliveries?: number;
}

/** What {@link sendHeartbeat} needs. */
export interface SenderDeps {
  readonly apiUrl: string;
  readonly key: () => Promise<string>;
  readonly fetch: typeof fetch;
  readonly now: () => Date;
}

/** `POST <apiUrl>/events` with the heartbeat, `Authorization: Bearer <key>`. */
export async function sendHeartbeat(deps: SenderDeps): Promise<SendReport> {
  const url = new URL('events', deps.apiUrl.endsWith('/') ? deps.apiUrl : `${deps.apiUrl}/`);
  const response = await deps.fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await deps.key()}`, 'content-type': 'application/json' },
    body: JSON.stringify(heartbeatRequest(deps.now())),
    signal: AbortSignal.timeout(HEARTBEAT_SEND_TIMEOUT_MS),
  });
  const answer = (await response.json().catch(() => ({}))) as { id?: unknown; deliveries?: unknown };
  const deliveries = Array.isArray(answer.deliveries)
    ? answer.deliveries.length
    : typeof answer.deliveries === 'number'
      ? answer.deliveries
      : undefined;
  return {
    status: response.status,
    ...(response.headers.get('trackingid')
      ? { trackingId: response.headers.get('trackingid') as string }
      : {}),
    ...(typeof answer.id === 'string' ? { eventId: answer.id } : {}),
    ...(deliveries === undefined ? {} : { deliveries }),
  };
}

const logger = new Logger({ serviceName: HEARTBEAT_SERVICE_NAMES.sender });
const apiUrl = requireEnv(HEARTBEAT_ENV.apiUrl);
const keySecretId = requireEnv(HEARTBEAT_ENV.keySecretId);

/** The key, read once per process and again after the API refused it (a new key after a re-create). */
let cachedKey: string | undefined;
async function readKey(): Promise<string> {
  if (cachedKey === undefined) {
    const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: keySecretId }));
    if (!SecretString) throw new Error('the heartbeat key secret has no value yet');
    cachedKey = SecretString;
  }
  return cachedKey;
}

export const handler = async (): Promise<SendReport> => {
  const report = await sendHeartbeat({ apiUrl, key: readKey, fetch, now: () => new Date() });
  if (report.status === 401) cachedKey = undefined;
  if (report.status !== 202) {
    logger.error('heartbeat refused by the API', { ...report });
    // A failed invocation shows in the function's Errors metric; the schedule does not retry it.
    throw new Error(`POST /events answered ${report.status}`);
  }
  if (report.deliveries === 0) {
    logger.error('heartbeat accepted but not queued to any endpoint: its endpoint is missing or disabled', {
      ...report,
    });
  } else {
    logger.info('heartbeat sent', { ...report });
  }
  return report;
};
