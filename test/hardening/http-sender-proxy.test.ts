/**
 * The delivery client ignores proxy settings from the environment: with HTTP_PROXY,
 * HTTPS_PROXY (both cases), an empty NO_PROXY and NODE_USE_ENV_PROXY=1 all pointing at a
 * loopback "proxy" that counts every connection it gets, a delivery to a loopback receiver,
 * over http and over https, reaches the receiver directly and never touches the proxy. A
 * control request with Node's default agent, in the same environment, does go to the proxy
 * (on the Node versions that have NODE_USE_ENV_PROXY), so the setup is known to be one a
 * careless client would follow. Every socket here is on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const CHILD = join(import.meta.dirname, 'proxy-child.ts');

/**
 * A throwaway certificate for 127.0.0.1 (self-signed, EC P-256, valid until 2126) and its key,
 * made for this test only: the child trusts it through NODE_EXTRA_CA_CERTS. Not a secret.
 */
const TEST_ONLY_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcVwgWKV6Cm+4zg3f
BNCDLbnZ3Y2wYNUiVhkZ9KLKxY6hRANCAATpEZyr+jMutEUkhExdUDuAtrI6ZECZ
XUy18LpfY+Bj6FuKbhLFRNBnfotW93kRBLO9hP5/hcVp+MAeRybKyVbZ
-----END PRIVATE KEY-----
`;
const TEST_ONLY_CERT = `-----BEGIN CERTIFICATE-----
MIIBjjCCATOgAwIBAgIUUKQf0Kmgbn4agwkXOKmTc2s8G6YwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMTIyNDMwN1oYDzIxMjYxMTA3
MjI0MzA3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATpEZyr+jMutEUkhExdUDuAtrI6ZECZXUy18LpfY+Bj6FuKbhLFRNBn
fotW93kRBLO9hP5/hcVp+MAeRybKyVbZo2EwXzAdBgNVHQ4EFgQUo9Rc/AujgII0
vmvOEY3fvdt1qjEwHwYDVR0jBBgwFoAUo9Rc/AujgII0vmvOEY3fvdt1qjEwDwYD
VR0RBAgwBocEfwAAATAMBgNVHRMBAf8EAjAAMAoGCCqGSM49BAMCA0kAMEYCIQDW
y9esfN7MWtEAO0Vnh1dfGUmYBcGAheH33mzaw+s/eAIhAO6CBbL5HES/hFunOC8x
4QvP37JnCcrSIaox+fApf6W7
-----END CERTIFICATE-----
`;

/** Node versions whose default agent follows NODE_USE_ENV_PROXY: 22.21+ and 24.5+. */
function defaultAgentFollowsEnvProxy(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return (major === 22 && minor >= 21) || (major === 24 && minor >= 5) || major === 23 || major >= 25;
}

let proxy: Server;
let proxyUrl: string;
/** Every TCP connection the proxy accepted, and what was asked of it. */
let proxyConnections = 0;
const proxyRequests: string[] = [];
let httpReceiver: Server;
let httpsReceiver: https.Server;
const received: string[] = [];
let dir: string;
let caFile: string;

function listen(server: Server | https.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(String((server.address() as AddressInfo).port))),
  );
}

function receive(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  request.on('end', () => {
    received.push(`${request.headers['webhook-id'] ?? 'no webhook-id'}`);
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('direct');
  });
}

beforeAll(async () => {
  proxy = http.createServer((request, response) => {
    proxyRequests.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('via proxy');
  });
  proxy.on('connection', () => {
    proxyConnections++;
  });
  // An https request through a proxy asks for a tunnel; refuse it, but count it.
  proxy.on('connect', (request: IncomingMessage, socket) => {
    proxyRequests.push(`CONNECT ${request.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
  httpReceiver = http.createServer(receive);
  httpsReceiver = https.createServer({ key: TEST_ONLY_KEY, cert: TEST_ONLY_CERT }, receive);
  await listen(httpReceiver);
  await listen(httpsReceiver);
  dir = mkdtempSync(join(tmpdir(), 'webhooks-proxy-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, TEST_ONLY_CERT);
});

afterAll(async () => {
  for (const server of [proxy, httpReceiver, httpsReceiver]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  proxyConnections = 0;
  proxyRequests.length = 0;
  received.length = 0;
});

/** Runs the child with every proxy variable pointing at the counting proxy. */
function runChild(mode: 'sender' | 'default-agent', url: string): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, url], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_USE_ENV_PROXY: '1',
      HTTP_PROXY: proxyUrl,
      HTTPS_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      https_proxy: proxyUrl,
      NO_PROXY: '',
      no_proxy: '',
      NODE_EXTRA_CA_CERTS: caFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch {
        reject(new Error(`proxy child exited ${code} without a result:\n${stdout}\n${stderr}`));
      }
    });
  });
}

const httpUrl = () => `http://127.0.0.1:${(httpReceiver.address() as AddressInfo).port}/webhooks`;
const httpsUrl = () => `https://127.0.0.1:${(httpsReceiver.address() as AddressInfo).port}/webhooks`;

describe('the delivery client and proxy variables', () => {
  it.each([
    ['http', httpUrl],
    ['https', httpsUrl],
  ])('an %s delivery goes straight to the receiver, never to the proxy', async (_, url) => {
    const answer = await runChild('sender', url());

    expect(answer).toEqual({ statusCode: 200, excerpt: 'direct' });
    expect(received).toEqual(['msg_proxy_test']);
    expect(proxyRequests).toEqual([]);
    expect(proxyConnections).toBe(0);
  });

  it.skipIf(!defaultAgentFollowsEnvProxy()).each([
    ['http', httpUrl],
    ['https', httpsUrl],
  ])(
    "control: Node's default agent sends an %s request to the proxy in the same environment",
    async (_, url) => {
      const answer = await runChild('default-agent', url());

      expect(proxyConnections).toBeGreaterThan(0);
      expect(proxyRequests).toHaveLength(1);
      expect(received).toEqual([]);
      expect(answer).not.toEqual({ statusCode: 200, excerpt: 'direct' });
    },
  );
});
