/**
 * Serves the API locally through the functions' own handlers (./gateway.ts routes each request
 * as API Gateway does): each HTTP request becomes the API Gateway HTTP API (payload 2.0) event
 * that AWS would deliver.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_REQUEST_BODY_BYTES } from '../lambdas/core/config.ts';

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The local server's own JSON answers; the handler's carry the same two headers. */
const JSON_HEADERS = { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' };

/** API Gateway refuses bodies over 10 MB before the function runs; so do we. */
const GATEWAY_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_BODY_LIMIT_BYTES) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Builds the event API Gateway would send for this request. */
export function toGatewayEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // As API Gateway does (it says https there).
  headers['x-forwarded-proto'] = 'http';
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const method = request.method ?? 'GET';
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
}

/** Starts the local API on `port` (0 picks a free one) on loopback. */
export async function startApiServer(
  handler: ApiHandler,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === 'too_large') {
        response.writeHead(413, JSON_HEADERS);
        response.end(
          JSON.stringify({
            error: { code: 'payload_too_large', message: `over ${MAX_REQUEST_BODY_BYTES} bytes` },
          }),
        );
        return;
      }
      const result = await handler(toGatewayEvent(request, body));
      response.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      response.end(result.body ?? '');
    } catch (error) {
      response.writeHead(502, JSON_HEADERS);
      response.end(JSON.stringify({ error: { code: 'handler_crashed', message: (error as Error).message } }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const actualPort = address && typeof address === 'object' ? address.port : port;
  return { server, url: `http://127.0.0.1:${actualPort}` };
}
