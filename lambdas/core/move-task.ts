/**
 * Tells whether an SQS StartMessageMoveTask error means the service lacks the action (an
 * emulator), so a caller may fall back to receive/send/delete. Pure: shared by the API's
 * `POST /dlq/redrive` and the CLI's `redrive`.
 */

const UNSUPPORTED_CODES: ReadonlySet<string> = new Set([
  'UnsupportedOperation',
  'AWS.SimpleQueueService.UnsupportedOperation',
  'InvalidAction',
  'UnknownOperation',
  'UnknownOperationException',
  'NotImplemented',
  'NotImplementedException',
]);

/**
 * Whether an error from StartMessageMoveTask means the service lacks the action (emulators,
 * regions without it), as opposed to a real refusal such as missing permissions, which must
 * be reported rather than worked around.
 */
export function isMoveTaskUnsupported(error: unknown): boolean {
  const candidate = error as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (UNSUPPORTED_CODES.has(candidate.name ?? '') || UNSUPPORTED_CODES.has(candidate.Code ?? '')) return true;
  const status = candidate.$metadata?.httpStatusCode;
  if (status === 501) return true;
  const message = candidate.message ?? '';
  if (/not (yet )?implemented|unknown (action|operation)|unsupported operation/i.test(message)) return true;
  // moto answers an action it does not know with an HTML error page, which the SDK cannot
  // parse; SQS itself always answers in its own protocol.
  return (
    status !== undefined &&
    status >= 400 &&
    (candidate.name === 'SyntaxError' || /deserialization error/i.test(message))
  );
}
