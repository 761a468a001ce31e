/**
 * The largest accepted request always fits one SQS message: the limit in lambdas/core/config.ts
 * is derived, not guessed. The worst case is a body of U+FFFF characters (3 bytes each in the
 * request, written as 6-byte JSON escapes because SQS refuses them raw).
 */
import { expect, it } from 'vitest';
import {
  MAX_REQUEST_BODY_BYTES,
  MESSAGE_OVERHEAD_BYTES,
  SQS_MAX_MESSAGE_BYTES,
} from '../../lambdas/core/config.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, decodeMessage, encodeMessage, messageBytes } from '../../lambdas/core/payload.ts';

it('fits the worst-case request for the size limit into one message, body intact', () => {
  // Prepare: the largest request of U+FFFF the limit accepts.
  const wrapper = Buffer.byteLength(JSON.stringify({ type: 'worst.case', data: { s: '' } }));
  const text = '\uFFFF'.repeat(Math.floor((MAX_REQUEST_BODY_BYTES - wrapper) / 3));
  const request = JSON.stringify({ type: 'worst.case', data: { s: text } });
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  const endpointId = newEndpointId(createdAtMs);

  // Act
  const body = buildWebhookBody('worst.case', createdAtMs, { s: text });
  const encoded = encodeMessage({
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType: 'worst.case',
    createdAtMs,
    body,
  });

  // Assess
  expect(Buffer.byteLength(request)).toBeLessThanOrEqual(MAX_REQUEST_BODY_BYTES);
  expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
  expect(messageBytes(encoded)).toBeLessThanOrEqual(2 * MAX_REQUEST_BODY_BYTES + MESSAGE_OVERHEAD_BYTES);
  expect(2 * MAX_REQUEST_BODY_BYTES + MESSAGE_OVERHEAD_BYTES).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  expect(JSON.parse(decodeMessage(encoded).body).data.s).toBe(text);
});
