/**
 * Runs a request through the app and serialises the result: JSON bodies (or a route's own
 * content, such as the dashboard's HTML), the `Trackingid` and `X-Content-Type-Options: nosniff`
 * headers on every response, and `{"error": {"code", "message"}}` for every failure.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorName, HttpError } from '../core/errors.ts';
import type { ApiApp, ApiRequest, ApiResponse } from './app.ts';

/** The logging the adapter needs (Powertools' Logger fits). */
export interface RequestLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** The stack without its first line (which repeats the message). */
function stackFrames(error: unknown): string | undefined {
  const stack = (error as { stack?: unknown } | undefined)?.stack;
  return typeof stack === 'string'
    ? stack
        .split('\n')
        .filter((line) => /^\s+at /.test(line))
        .join('\n')
    : undefined;
}

/** Handles one request and returns what API Gateway (or the local server) should send. */
export async function toHttpResponse(
  app: Pick<ApiApp, 'handle'>,
  request: ApiRequest,
  logger: RequestLogger,
  count: (metric: string, value: number) => void = () => {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const started = performance.now();
  let response: ApiResponse;
  try {
    response = await app.handle(request);
  } catch (error) {
    if (error instanceof HttpError) {
      response = {
        status: error.status,
        body: { error: { code: error.code, message: error.message } },
        headers: error.headers,
      };
    } else {
      // The error's class and where it was thrown, never its message: an AWS error's text
      // names ARNs and the account, a parse error quotes what it failed on.
      logger.error('request failed', { error: errorName(error), stack: stackFrames(error) });
      response = {
        status: 500,
        body: {
          error: {
            code: 'internal_error',
            message: `internal error; quote Trackingid ${request.trackingId}`,
          },
        },
      };
    }
  }
  const body = response.body as { id?: string; deliveries?: unknown[] } | undefined;
  if (request.method === 'POST' && request.path.replace(/\/$/, '') === '/events' && response.status === 202) {
    count('EventsAccepted', 1);
    count('DeliveriesQueued', body?.deliveries?.length ?? 0);
  }
  logger.info('request', {
    method: request.method,
    path: request.path,
    status: response.status,
    durationMs: Math.round(performance.now() - started),
    ...(request.path.startsWith('/events') && body?.id ? { eventId: body.id } : {}),
  });
  // A route that sets its own content type (the dashboard page) hands over the finished body.
  const raw = response.contentType !== undefined && typeof response.body === 'string';
  return {
    statusCode: response.status,
    headers: {
      ...(response.body === undefined ? {} : { 'content-type': response.contentType ?? 'application/json' }),
      // Browsers take the content type as given (a JSON answer quoting receiver text is never HTML).
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      ...response.headers,
      Trackingid: request.trackingId,
    },
    ...(response.body === undefined
      ? {}
      : { body: raw ? (response.body as string) : JSON.stringify(response.body) }),
  };
}
