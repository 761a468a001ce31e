/**
 * Every answer of the API says `X-Content-Type-Options: nosniff`, so a browser never guesses
 * HTML in a JSON body that quotes receiver text or user input: the serialiser every route
 * goes through (`toHttpResponse`, for Lambda and local mode alike) and the local server's own
 * answers (413 before the handler, 502 when it crashes). No AWS; the local server listens on
 * 127.0.0.1.
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { toHttpResponse } from '../../lambdas/api/respond.ts';
import { HttpError } from '../../lambdas/core/errors.ts';
import { startApiServer } from '../../local/api-server.ts';

type App = Parameters<typeof toHttpResponse>[0];
type Request = Parameters<typeof toHttpResponse>[1];
type Answer = Awaited<ReturnType<App['handle']>>;

const logger = { info: () => {}, warn: () => {}, error: () => {} };
const request: Request = {
  method: 'GET',
  path: '/deliveries/dlv_1',
  headers: {},
  query: {},
  trackingId: 'trk_1',
} as Request;

function app(handle: () => Promise<Answer>): App {
  return { handle } as unknown as App;
}

describe('toHttpResponse', () => {
  it.each<[string, () => Promise<Answer>, number]>([
    [
      'a JSON body',
      async () => ({ status: 200, body: { excerpt: '<script>alert(1)</script>' } }) as Answer,
      200,
    ],
    ['no body', async () => ({ status: 204 }) as Answer, 204],
    [
      'a route of its own content type',
      async () => ({ status: 200, body: '<p>', contentType: 'text/html' }) as Answer,
      200,
    ],
    [
      'an HTTP error',
      async () => {
        throw new HttpError(404, 'not_found', 'delivery "<b>" does not exist');
      },
      404,
    ],
    [
      'a crash',
      async () => {
        throw new Error('boom');
      },
      500,
    ],
  ])('%s carries X-Content-Type-Options: nosniff', async (_, handle, status) => {
    const response = await toHttpResponse(app(handle), request, logger);

    expect(response.statusCode).toBe(status);
    expect(response.headers).toMatchObject({ 'x-content-type-options': 'nosniff', Trackingid: 'trk_1' });
  });
});

describe('the local API server', () => {
  let server: Server | undefined;

  afterEach(async () => {
    const running = server;
    server = undefined;
    if (!running) return;
    running.closeAllConnections();
    await new Promise((resolve) => running.close(resolve));
  });

  async function start(handler: Parameters<typeof startApiServer>[0]): Promise<string> {
    const started = await startApiServer(handler, 0);
    server = started.server;
    return started.url;
  }

  it('passes the handler headers through, nosniff included', async () => {
    const url = await start((event) =>
      toHttpResponse(
        app(async () => ({ status: 200, body: { ok: true } }) as Answer),
        { ...request, path: event.rawPath },
        logger,
      ),
    );

    const response = await fetch(`${url}/anything`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('its own 502 (the handler crashed) and 413 (over the gateway limit) carry nosniff too', async () => {
    const url = await start(async () => {
      throw new Error('handler crashed on purpose');
    });

    const crashed = await fetch(`${url}/events`);
    const tooLarge = await fetch(`${url}/events`, {
      method: 'POST',
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });

    expect(crashed.status).toBe(502);
    expect(crashed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(((await crashed.json()) as { error: { code: string } }).error.code).toBe('handler_crashed');
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toBe('application/json');
    expect(tooLarge.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
