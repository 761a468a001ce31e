/**
 * Typed errors. The API maps {@link HttpError} to a status and a JSON error body; the
 * delivery worker tells retryable failures from permanent ones with {@link DeliveryError}.
 */

/** An error the API answers with `{"error": {"code", "message"}}` and `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400 with a machine-readable code. */
export const badRequest = (code: string, message: string): HttpError => new HttpError(400, code, message);

/** 404 for a resource that does not exist. */
export const notFound = (what: string, id: string): HttpError =>
  new HttpError(404, 'not_found', `${what} ${JSON.stringify(id)} does not exist`);

/**
 * A delivery attempt that failed. `retryable: false` means retrying cannot help (410 Gone,
 * a blocked address, a deleted endpoint): the message goes straight to the dead-letter queue.
 */
export class DeliveryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * Our words for an unexpected error: its class name (an AWS or runtime error class), never its
 * message, which may quote a secret being parsed or name an account's ARNs.
 */
export function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'Error';
}
