/**
 * The handlers' AWS SDK clients give up on a request that never answers, instead of waiting
 * for it (the SDK only warns unless told to throw): this is what keeps the API inside its own
 * deadline when an AWS endpoint hangs. A loopback server that accepts and never answers
 * stands in for the hung endpoint.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

let server: Server;
let port = 0;
let connections = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    connections++;
    sockets.push(socket);
    socket.on('data', () => {}); // read the request, answer nothing
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  port = address && typeof address === 'object' ? address.port : 0;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

it('fails a DynamoDB call to an endpoint that never answers, after its retries, rather than hang', async () => {
  // Prepare: fresh clients pointed at the silent server.
  vi.resetModules();
  vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${port}`);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  const { documents } = await import('../../lambdas/adapters/clients.ts');
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');

  // Act
  const outcome = await documents.send(new GetCommand({ TableName: 't', Key: { id: 'x' } })).then(
    () => 'answered',
    (error: Error) => error.name,
  );

  // Assess: a timeout error, after the client's three attempts.
  expect(outcome).toBe('TimeoutError');
  expect(connections).toBeGreaterThanOrEqual(3);
  vi.unstubAllEnvs();
}, 30_000);
