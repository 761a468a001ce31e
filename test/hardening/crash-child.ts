/**
 * A stand-in for one delivery Lambda instance, run as its own process by
 * crash-mid-batch.test.ts so the test can SIGKILL it in the middle of a batch: the real
 * delivery handler fed by the local poller, configured from the inherited environment (the
 * same variables the harness set for the in-process handlers).
 */
import { startPoller } from '../../local/queue-poller.ts';

const { AWS_ENDPOINT_URL, AWS_REGION, DELIVERY_QUEUE_URL } = process.env;
if (!AWS_ENDPOINT_URL || !AWS_REGION || !DELIVERY_QUEUE_URL) {
  throw new Error('crash-child needs AWS_ENDPOINT_URL, AWS_REGION and DELIVERY_QUEUE_URL');
}
// Imported after the check: the handler reads its configuration at import, like a cold start.
const { handler } = await import('../../lambdas/delivery/handler.ts');
startPoller(handler, {
  endpoint: AWS_ENDPOINT_URL,
  region: AWS_REGION,
  queueUrl: DELIVERY_QUEUE_URL,
  concurrency: 1,
  waitSeconds: 1,
  onError: (error) => process.stderr.write(`poll error: ${error.message}\n`),
});
process.stdout.write('polling\n');
