/**
 * `npm run local`: the whole product on this machine, on the moto emulator.
 *
 * Starts moto on a free loopback port (or uses `AWS_ENDPOINT_URL`), creates the resources,
 * serves the API on `PORT` (default 3000) and delivers from the queue, until Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { generateApiKey } from '../lambdas/core/api-keys.ts';
import { retryPolicyFromEnv } from '../lambdas/core/config.ts';
import { startLocalStack } from './local-stack.ts';
import { type MotoServer, startMoto } from './moto.ts';
import { STATE_FILE, writeState } from './state-file.ts';

function motoInstalled(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  const policy = retryPolicyFromEnv();
  const port = Number(process.env.PORT ?? 3000);
  const apiKey = process.env.WEBHOOKS_API_KEY ?? generateApiKey();

  let moto: MotoServer | undefined;
  let endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    if (!motoInstalled()) {
      console.error(
        'moto_server was not found. Install the AWS emulator with:\n  pip install "moto[server]"',
      );
      process.exit(1);
    }
    moto = await startMoto();
    endpoint = moto.endpoint;
  }

  const stack = await startLocalStack({
    endpoint,
    apiKey,
    policy,
    port,
    onPollError: (error) => console.error(`poller: ${error.message}`),
  });
  const dashboardUrl = `${stack.apiUrl}/dashboard`;
  writeState({
    ...stack.resources,
    apiUrl: stack.apiUrl,
    apiKey,
    dashboardUrl,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });

  console.log(`
Webhooks local mode is running.
  API:        ${stack.apiUrl}
  API key:    ${apiKey}
  Dashboard:  ${dashboardUrl}
  Emulator:   ${endpoint}${moto ? ' (moto, started here)' : ' (reused from AWS_ENDPOINT_URL)'}
  Retries:    ${policy.maxAttempts} attempts, delays ${policy.scheduleSeconds.join(',')} s
  State file: ${STATE_FILE} (read by: npx webhooks <command> --local)

Local mode delivers to loopback addresses (127.0.0.1, localhost) only, and also over plain http.
On AWS, endpoints must be public https URLs.

Try it (in another terminal: npm run receiver):
  curl -s -X POST ${stack.apiUrl}/endpoints -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' \\
    -d '{"url":"http://127.0.0.1:4000/webhooks"}'
  curl -s -X POST ${stack.apiUrl}/events -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' \\
    -d '{"type":"invoice.paid","data":{"invoiceId":"inv_1","amount":4200}}'

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    await stack.stop();
    await moto?.stop();
    rmSync(STATE_FILE, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
  console.error(`local mode failed to start: ${error.message}`);
  process.exit(1);
});
