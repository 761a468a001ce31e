/**
 * Heartbeat receiver: the endpoint the synthetic delivery check delivers to, behind its own
 * Lambda Function URL (public, so the delivery's SSRF guard applies its public-address rule to
 * it as to any customer's receiver). It verifies each delivery's Standard Webhooks signature with
 * the public `standardwebhooks` library, as a customer's receiver would, against the endpoint's
 * signing secret; a verified heartbeat adds one to the `HeartbeatVerified` metric, which the
 * heartbeat alarm watches. A request that does not verify is refused with 401 and counted nowhere.
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { requireEnv } from '../adapters/env.ts';
import { EndpointSecrets, signingSecrets } from '../adapters/secrets.ts';
import { Logger, Metrics, MetricUnit } from '../adapters/telemetry.ts';
import { errorName } from '../core/errors.ts';
import {
  HEARTBEAT_ENV,
  HEARTBEAT_SERVICE_NAMES,
  HEARTBEAT_VERIFIED_METRIC,
  heartbeatAgeMs,
} from './contract.ts';

/** What the receiver makes of one request. */
export type Verdict =
  | { readonly status: 204; readonly webhookId: string; readonly heartbeatAgeMs?: number }
  | { readonly status: 401 | 405; readonly reason: string };

/** The request body exactly as sent (Function URLs base64-encode bodies they consider binary). */
function rawBody(event: LambdaFunctionURLEvent): string {
  if (event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * Judges one request against the secrets that sign right now (current first, then the previous
 * one while a rotation overlaps): 204 if any verifies it, else 401 with the library's reason.
 * Throws only if a secret is not a valid `whsec_` secret (a configuration fault, not a bad request).
 */
export function judge(event: LambdaFunctionURLEvent, secrets: readonly string[], nowMs: number): Verdict {
  if (event.requestContext?.http?.method !== 'POST') return { status: 405, reason: 'only POST is accepted' };
  const body = rawBody(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  let reason = 'no signing secret';
  for (const secret of secrets) {
    const webhook = new Webhook(secret);
    try {
      const payload = webhook.verify(body, headers);
      const age = heartbeatAgeMs(payload, nowMs);
      return {
        status: 204,
        webhookId: headers['webhook-id'] ?? '',
        ...(age === undefined ? {} : { heartbeatAgeMs: age }),
      };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      reason = error.message;
    }
  }
  return { status: 401, reason };
}

const logger = new Logger({ serviceName: HEARTBEAT_SERVICE_NAMES.receiver });
const metrics = new Metrics({ namespace: 'Webhooks', serviceName: HEARTBEAT_SERVICE_NAMES.receiver });
const secretName = requireEnv(HEARTBEAT_ENV.endpointSecretName);
// Only `get(name)` is used, which needs no prefix; the secret is cached for SECRET_CACHE_TTL_MS.
const endpointSecrets = new EndpointSecrets(secretName.slice(0, secretName.lastIndexOf('/')));

export const handler = async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
  const nowMs = Date.now();
  let verdict: Verdict;
  try {
    verdict = judge(event, signingSecrets(await endpointSecrets.get(secretName), nowMs), nowMs);
  } catch (error) {
    // Secrets Manager unreachable or the secret unusable: the sender retries, the alarm counts.
    logger.error('heartbeat receiver could not judge the request', { error: errorName(error) });
    return { statusCode: 500, body: '' };
  }
  if (verdict.status !== 204) {
    logger.warn('request refused', { status: verdict.status, reason: verdict.reason });
    return {
      statusCode: verdict.status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: {
          code: verdict.status === 401 ? 'bad_signature' : 'method_not_allowed',
          message: verdict.reason,
        },
      }),
    };
  }
  if (verdict.heartbeatAgeMs !== undefined) {
    metrics.addMetric(HEARTBEAT_VERIFIED_METRIC, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    // The end-to-end time is logged, not a metric: one metric less is $0.30 a month less.
    logger.info('heartbeat verified', {
      webhookId: verdict.webhookId,
      heartbeatAgeMs: verdict.heartbeatAgeMs,
    });
  } else {
    logger.info('verified delivery that is not a heartbeat', { webhookId: verdict.webhookId });
  }
  return { statusCode: 204, body: '' };
};
