/**
 * Run by http-sender-proxy.test.ts as its own process, so that NODE_USE_ENV_PROXY (read once,
 * at startup) and the proxy variables are in force from the first line. Sends one POST to the
 * URL it is given, with the delivery client (`sender`) or, as the test's control, with Node's
 * default agent (`default-agent`), and prints what came back as one JSON line.
 */
import http from 'node:http';
import https from 'node:https';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';

const [mode, url = ''] = process.argv.slice(2);

async function withDefaultAgent(): Promise<{ statusCode: number; excerpt: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      { method: 'POST' },
      (response) => {
        let excerpt = '';
        response.on('data', (chunk: Buffer) => {
          excerpt += chunk.toString();
        });
        response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, excerpt }));
      },
    );
    request.setTimeout(5_000, () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end('{}');
  });
}

let result: unknown;
try {
  if (mode === 'sender') {
    const sender = new WebhookSender({ guard: { allowLoopback: true }, timeoutMs: 5_000 });
    const answer = await sender.post(url, { 'webhook-id': 'msg_proxy_test' }, '{}');
    await sender.close();
    result = { statusCode: answer.statusCode, excerpt: answer.excerpt };
  } else {
    result = await withDefaultAgent();
  }
} catch (error) {
  result = { error: (error as Error).message };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
