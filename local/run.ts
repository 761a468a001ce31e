/**
 * `npm run local`: the whole product on this machine, on the moto emulator.
 *
 * Starts moto on a free loopback port (or uses `AWS_ENDPOINT_URL`), creates the resources,
 * serves the API on `PORT` (default 3000) and delivers from the queue, until Ctrl-C. The API
 * key is `WEBHOOKS_LOCAL_API_KEY` (else generated); the state file is `WEBHOOKS_STATE_FILE`
 * (else the checkout's `.webhooks-local.json`).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { retryPolicyFromEnv } from '../lambdas/core/config.ts';
import { startLocalStack } from './local-stack.ts';
import { type MotoServer, startMoto } from './moto.ts';
import { localApiKey, startupBanner } from './startup.ts';
import { stateFilePath, writeState } from './state-file.ts';

function motoInstalled(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  const policy = retryPolicyFromEnv();
  const port = Number(process.env.PORT ?? 3000);
  const key = localApiKey(process.env);
  const apiKey = key.key;
  const stateFile = stateFilePath(process.env);

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
  writeState(
    {
      ...stack.resources,
      apiUrl: stack.apiUrl,
      apiKey,
      dashboardUrl,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    },
    stateFile,
  );

  console.log(
    startupBanner({
      apiUrl: stack.apiUrl,
      apiKey: key,
      dashboardUrl,
      emulator: endpoint,
      motoStarted: moto !== undefined,
      policy,
      stateFile,
      stackKeySet: Boolean(process.env.WEBHOOKS_API_KEY),
    }),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    await stack.stop();
    await moto?.stop();
    rmSync(stateFile, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
  console.error(`local mode failed to start: ${error.message}`);
  process.exit(1);
});
