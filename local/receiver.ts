/**
 * `npm run receiver`: a webhook consumer for trying local mode. Listens on 127.0.0.1:4000
 * (`RECEIVER_PORT`), prints every webhook, and verifies its signature with the public
 * `standardwebhooks` library when `WEBHOOK_SECRET` holds the endpoint's `whsec_...` secret.
 * `RECEIVER_FAIL_FIRST=N` answers 500 to the first N requests, to watch retries happen.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env.RECEIVER_PORT ?? 4000);
const secret = process.env.WEBHOOK_SECRET;
let failFirst = Number(process.env.RECEIVER_FAIL_FIRST ?? 0);
const verifier = secret ? new Webhook(secret.replace(/^whsec_/, '')) : undefined;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = {
      'webhook-id': String(request.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
    };
    let verdict = 'signature not checked (set WEBHOOK_SECRET to verify)';
    if (verifier) {
      try {
        verifier.verify(body, headers);
        verdict = 'signature verified';
      } catch (error) {
        verdict = `SIGNATURE INVALID: ${(error as Error).message}`;
      }
    }
    const failing = failFirst > 0;
    if (failing) failFirst--;
    console.log(
      `${new Date().toISOString()} ${request.method} ${request.url} id=${headers['webhook-id']} ${verdict}`,
    );
    console.log(`  ${body}`);
    response.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
    response.end(failing ? 'failing on purpose (RECEIVER_FAIL_FIRST)\n' : 'ok\n');
  });
});

server.listen(port, '127.0.0.1', () =>
  console.log(`receiver listening on http://127.0.0.1:${port}/webhooks`),
);
