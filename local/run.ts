/**
 * `npm run local`: the whole product on this machine, on the moto emulator.
 *
 * Starts one moto server per service (SQS, DynamoDB, Secrets Manager) on free loopback ports,
 * in parallel; a service whose endpoint the environment names (`AWS_ENDPOINT_URL_SQS`,
 * `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL` for
 * all) reuses that emulator instead. Then it creates the resources, serves the API on `PORT`
 * (default 3000) and delivers from the queue, until Ctrl-C. Operational events go to the SQS
 * emulator's EventBridge, whose rule sends them to the queue `webhooks-operational-events`; each
 * is printed as it arrives. The API
 * key is `WEBHOOKS_LOCAL_API_KEY` (else generated); the state file is `WEBHOOKS_STATE_FILE`
 * (else the checkout's `.webhooks-local.json`).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { retryPolicyFromEnv } from '../lambdas/core/config.ts';
import { startLocalStack } from './local-stack.ts';
import { EMULATED_SERVICES, endpointsFromEnv, startMotoPerService } from './moto.ts';
import { formatOperationalEvent } from './operational-event-log.ts';
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

  const given = endpointsFromEnv(process.env);
  if (EMULATED_SERVICES.some((service) => !given[service]) && !motoInstalled()) {
    console.error('moto_server was not found. Install the AWS emulator with:\n  pip install "moto[server]"');
    process.exit(1);
  }
  const moto = await startMotoPerService(given);

  // The servers started here must not outlive a failed start.
  const stack = await startLocalStack({
    endpoint: moto.endpoints,
    apiKey,
    policy,
    port,
    // Up to ten copies of the delivery function polling, as the event source mapping scales.
    pollers: 10,
    onPollError: (error) => console.error(`poller: ${error.message}`),
    // Operational events go to the emulator's EventBridge, and each is printed as it arrives.
    operationalEvents: true,
    onOperationalEvent: (event) => console.log(formatOperationalEvent(event)),
  }).catch(async (error: Error) => {
    await moto.stop();
    throw error;
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
      emulators: moto.endpoints,
      started: moto.started,
      policy,
      stateFile,
      stackKeySet: Boolean(process.env.WEBHOOKS_API_KEY),
      ...(stack.resources.operationalEventsQueueUrl
        ? { operationalEventsQueueUrl: stack.resources.operationalEventsQueueUrl }
        : {}),
    }),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    await stack.stop();
    await moto.stop();
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
