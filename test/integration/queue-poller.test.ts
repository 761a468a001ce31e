/**
 * Local mode's stand-in for the SQS event source mapping (local/queue-poller.ts), on moto:
 * it deletes exactly what the handler reported done, gathers the deletes of batches that
 * finish while another is still in the handler into one DeleteMessageBatch, and gives each
 * copy of the handler one batch at a time, as Lambda gives each execution environment, and
 * scales its pollers between a minimum and a maximum as the event source mapping does.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { type Poller, startPoller } from '../../local/queue-poller.ts';
import { eventually } from '../support/harness.ts';

let moto: MotoServer;
let sqs: SQSClient;
let queues = 0;
const pollers: Poller[] = [];

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS });
});

afterAll(async () => {
  await Promise.all(pollers.map((poller) => poller.stop()));
  sqs?.destroy();
  await moto?.stop();
});

/** A fresh queue (a minute's visibility: a message not deleted stays in flight) holding `bodies`. */
async function queueWith(bodies: readonly string[]): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `poller-${++queues}`, Attributes: { VisibilityTimeout: '60' } }),
  );
  for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
  return QueueUrl as string;
}

async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

function poll(
  queueUrl: string,
  handlers: Parameters<typeof startPoller>[0],
  options: {
    batchSize?: number;
    deleteGatherMs?: number;
    concurrency?: number;
    minConcurrency?: number;
  } = {},
): Poller {
  const poller = startPoller(handlers, {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    queueUrl,
    waitSeconds: 1,
    ...options,
  });
  pollers.push(poller);
  return poller;
}

const ok = (): SQSBatchResponse => ({ batchItemFailures: [] });

describe('the local queue poller', () => {
  it('deletes the records the handler reported done and leaves the ones it reported failed', async () => {
    // Prepare: two messages, which one receive hands over together.
    const queueUrl = await queueWith(['done', 'failed']);
    const seen: string[] = [];

    // Act: one loop, so no two receives race for the same message.
    const poller = poll(
      queueUrl,
      async (event: SQSEvent) => {
        seen.push(...event.Records.map((record) => record.body));
        const failed = event.Records.filter((record) => record.body === 'failed');
        return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
      },
      { concurrency: 1 },
    );

    // Assess: the failed one is still in flight (it comes back after its visibility timeout).
    const after = await eventually(async () => {
      const now = await counts(queueUrl);
      return now.visible === 0 && now.inFlight === 1 ? now : undefined;
    });
    expect(after).toEqual({ visible: 0, inFlight: 1 });
    expect(seen.sort()).toEqual(['done', 'failed']);
    expect(poller.requests.deletes).toBe(1);
  });

  it('sends one delete for a batch that finished while another was in the handler, once that one is done too', async () => {
    // Prepare: two batches of one; whichever the handler gets first stays there until the other has
    // returned (the queue does not promise which message a receive takes).
    const queueUrl = await queueWith(['first', 'second']);
    let secondReturned!: () => void;
    const secondDone = new Promise<void>((resolve) => {
      secondReturned = resolve;
    });
    let calls = 0;
    const handler = async (): Promise<SQSBatchResponse> => {
      calls++;
      if (calls === 2) {
        secondReturned();
        return ok();
      }
      await secondDone;
      // Let the poller take the second batch's result before this one returns.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return ok();
    };

    // Act: gathering never times out here, so only the first batch's return can send it.
    const poller = poll(queueUrl, [handler, handler], { batchSize: 1, deleteGatherMs: 60_000 });

    // Assess: both deleted, by one request.
    await eventually(async () => {
      const now = await counts(queueUrl);
      return now.visible + now.inFlight === 0 ? true : undefined;
    });
    expect(poller.batches).toBe(2);
    expect(poller.requests.deletes).toBe(1);
  });

  it('gives each copy of the handler one batch at a time, while the copies run at once', async () => {
    // Prepare: two batches of one, and two copies that each wait until both are busy.
    const queueUrl = await queueWith(['a', 'b']);
    const calls: [number, number] = [0, 0];
    const active: [number, number] = [0, 0];
    let maxActivePerCopy = 0;
    let bothBusy!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothBusy = resolve;
    });
    const copy = (index: 0 | 1) => async (): Promise<SQSBatchResponse> => {
      calls[index]++;
      active[index]++;
      maxActivePerCopy = Math.max(maxActivePerCopy, active[index]);
      if (active[0] + active[1] === 2) bothBusy();
      await barrier;
      active[index]--;
      return ok();
    };

    // Act
    poll(queueUrl, [copy(0), copy(1)], { batchSize: 1 });

    // Assess: each copy took one batch; neither ever had two at once.
    await eventually(async () => {
      const now = await counts(queueUrl);
      return now.visible + now.inFlight === 0 ? true : undefined;
    });
    expect(calls).toEqual([1, 1]);
    expect(maxActivePerCopy).toBe(1);
  });

  it('starts another poller for each full receive, up to the maximum, and stops them once receives come back empty', async () => {
    // Prepare: three full batches, and three copies that each wait until all three are busy.
    const queueUrl = await queueWith(Array.from({ length: 30 }, (_, index) => `m${index}`));
    let inHandler = 0;
    let allBusy!: () => void;
    const barrier = new Promise<void>((resolve) => {
      allBusy = resolve;
    });
    const copy = async (): Promise<SQSBatchResponse> => {
      if (++inHandler === 3) allBusy();
      await barrier;
      return ok();
    };

    // Act: one poller while quiet, at most three.
    const poller = poll(queueUrl, [copy, copy, copy], { batchSize: 10, concurrency: 3, minConcurrency: 1 });

    // Assess: three ran at once (else the barrier never opens), then back to one.
    await eventually(async () => {
      const now = await counts(queueUrl);
      return now.visible + now.inFlight === 0 ? true : undefined;
    });
    expect(poller.peakLoops).toBe(3);
    expect(poller.batches).toBe(3);
    await eventually(
      async () => (poller.loops === 1 ? true : undefined),
      10_000,
      'the pollers to scale down',
    );
  });
});
