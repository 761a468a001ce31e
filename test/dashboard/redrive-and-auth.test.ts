/**
 * Without AWS: the two pages (dashboard and portal) and the API description are the only routes
 * open without a key (checked against the whole route table), `POST /dlq/redrive` answers 202 or 200 from what SQS did, and the DLQ adapter takes
 * SQS's message move task where the service has it, copying only where it does not. The SQS
 * client is mocked with aws-sdk-client-mock: no connection is opened.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RedriveOutcome, redriveDeadLetters } from '../../lambdas/adapters/dlq.ts';
import type { Store } from '../../lambdas/adapters/store.ts';
import { ApiApp, type ApiDeps, type ApiRequest } from '../../lambdas/api/app.ts';
import { authorize } from '../../lambdas/api/authorize.ts';
import { DASHBOARD_CSP, PORTAL_CSP } from '../../lambdas/api/dashboard.ts';
import { openRoutes } from '../../lambdas/api/open-routes.ts';
import type { HttpError } from '../../lambdas/core/errors.ts';
import { isMoveTaskUnsupported } from '../../lambdas/core/move-task.ts';

const sqsMock = mockClient(SQSClient);

afterAll(() => {
  sqsMock.restore();
});

/** An app whose every dependency fails loudly, so a test sees exactly what a route touched. */
function appWith(redrive: () => Promise<RedriveOutcome> = () => Promise.reject(new Error('unused'))) {
  const untouchable = new Proxy(
    {},
    {
      get: (_, name) => () => {
        throw new Error(`unexpected call to ${String(name)}`);
      },
    },
  );
  const apiKeys = { get: vi.fn(async () => []) };
  const deps: ApiDeps = {
    store: untouchable as Store,
    secrets: untouchable as ApiDeps['secrets'],
    apiKeys,
    portalKey: { get: () => Promise.reject(new Error('unused')) },
    queue: {
      enqueue: () => Promise.reject(new Error('unused')),
      enqueueOne: () => Promise.reject(new Error('unused')),
      scheduleEventChecks: () => Promise.reject(new Error('unused')),
      release: () => Promise.reject(new Error('unused')),
      deadLetterDepth: () => Promise.reject(new Error('unused')),
      redriveDeadLetters: redrive,
    },
    guard: { allowLoopback: false, blockedHosts: [] },
  };
  // The authorizer's code in process, as the gateway's authorizer runs it before the deployed API,
  // and the pages function's routes beside the API's, as the gateway serves both.
  return { app: new ApiApp(deps, { authorize, openRoutes: openRoutes() }), apiKeys };
}

const request = (method: string, path: string, headers: Record<string, string> = {}): ApiRequest => ({
  method,
  path,
  headers,
  query: {},
  trackingId: 't-1',
});

describe('access without an API key', () => {
  it('serves GET /dashboard as HTML with a strict policy, without looking at keys', async () => {
    // Prepare
    const { app, apiKeys } = appWith();

    // Act
    const response = await app.handle(request('GET', '/dashboard'));

    // Assess
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/html; charset=utf-8');
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.headers).toMatchObject({
      'content-security-policy': DASHBOARD_CSP,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    expect(apiKeys.get).not.toHaveBeenCalled();
  });

  it('serves GET /portal as HTML with its own strict policy, without looking at keys', async () => {
    // Prepare
    const { app, apiKeys } = appWith();

    // Act
    const response = await app.handle(request('GET', '/portal'));

    // Assess
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/html; charset=utf-8');
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain('This link is not valid');
    expect(response.headers).toMatchObject({
      'content-security-policy': PORTAL_CSP,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    expect(PORTAL_CSP).not.toBe(DASHBOARD_CSP);
    expect(apiKeys.get).not.toHaveBeenCalled();
  });

  it('answers 401 on every other route of the table, and on other methods of the pages', async () => {
    // Prepare: every route the app has, with a sample value in each path parameter.
    const { app } = appWith();
    const routes = (app as unknown as { routes: Array<{ method: string; pattern: RegExp }> }).routes;
    const probes = routes
      .map((route) => ({
        method: route.method,
        path: route.pattern.source
          .replaceAll('\\/', '/')
          .replace(/^\^/, '')
          .replace(/\/\?\$$/, '')
          .replaceAll('([^/]+)', 'x'),
      }))
      .filter(
        (probe) =>
          !(probe.method === 'GET' && ['/dashboard', '/portal', '/openapi.json'].includes(probe.path)),
      );
    probes.push(
      { method: 'POST', path: '/dashboard' },
      { method: 'DELETE', path: '/dashboard' },
      { method: 'POST', path: '/portal' },
    );
    expect(probes.length).toBeGreaterThanOrEqual(16);
    expect(probes).toContainEqual({ method: 'POST', path: '/dlq/redrive' });

    // Act
    const outcomes = await Promise.all(
      probes.map(async (probe) => {
        try {
          await app.handle(request(probe.method, probe.path));
          return `${probe.method} ${probe.path}: answered`;
        } catch (error) {
          return `${probe.method} ${probe.path}: ${(error as HttpError).status}`;
        }
      }),
    );

    // Assess
    expect(outcomes).toEqual(probes.map((probe) => `${probe.method} ${probe.path}: 401`));
  });

  it('refuses a wrong key on POST /dlq/redrive without redriving', async () => {
    // Prepare
    const redrive = vi.fn(async (): Promise<RedriveOutcome> => ({ mode: 'copied', moved: 0 }));
    const { app } = appWith(redrive);

    // Act
    const refused = app.handle(request('POST', '/dlq/redrive', { authorization: 'Bearer whk_wrong' }));

    // Assess
    await expect(refused).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(redrive).not.toHaveBeenCalled();
  });
});

describe('POST /dlq/redrive', () => {
  // The route runs the real DLQ adapter over the mocked SQS client: what the caller is told
  // comes from what SQS answered, through the adapter and the route's mapping.
  const keyed = { authorization: 'Bearer whk_test' };
  const dlqUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/route-dlq';
  const deliveryUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/route-deliveries';
  const arnOf = (url: string) => `arn:aws:sqs:us-east-1:000000000000:${url.split('/').at(-1)}`;

  beforeEach(() => {
    sqsMock.reset();
    sqsMock
      .on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: arnOf(dlqUrl) } })
      .on(GetQueueAttributesCommand, { QueueUrl: deliveryUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: arnOf(deliveryUrl) } });
  });

  async function appWithKey() {
    const { hashApiKey } = await import('../../lambdas/core/api-keys.ts');
    const { app, apiKeys } = appWith(() => redriveDeadLetters(dlqUrl, deliveryUrl));
    apiKeys.get.mockResolvedValue([{ id: 'k1', sha256: hashApiKey('whk_test') }] as never);
    return app;
  }

  it('answers 202 with the handle of the move task SQS started from the DLQ to the delivery queue', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-from-sqs' });
    const app = await appWithKey();

    // Act
    const response = await app.handle(request('POST', '/dlq/redrive', keyed));

    // Assess
    expect(response).toMatchObject({ status: 202, body: { mode: 'move-task', taskHandle: 'task-from-sqs' } });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand).map((call) => call.args[0].input)).toEqual([
      { SourceArn: arnOf(dlqUrl), DestinationArn: arnOf(deliveryUrl) },
    ]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('answers 200 with the number of messages actually copied back where SQS has no move task', async () => {
    // Prepare: three dead messages; SQS takes two of the three sends.
    sqsMock
      .on(StartMessageMoveTaskCommand)
      .rejects(
        Object.assign(new Error('no'), { name: 'UnsupportedOperation', $metadata: { httpStatusCode: 400 } }),
      );
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'm1', ReceiptHandle: 'r1', Body: 'one' },
          { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'two' },
          { MessageId: 'm3', ReceiptHandle: 'r3', Body: 'three' },
        ],
      })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'n1', MD5OfMessageBody: '' },
        { Id: '2', MessageId: 'n3', MD5OfMessageBody: '' },
      ],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }, { Id: '1' }] });
    const app = await appWithKey();

    // Act
    const response = await app.handle(request('POST', '/dlq/redrive', keyed));

    // Assess: the count is what was sent and deleted, not what was received.
    expect(response).toMatchObject({ status: 200, body: { mode: 'copied', moved: 2 } });
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'r1' },
      { Id: '1', ReceiptHandle: 'r3' },
    ]);
  });
});

describe('redriveDeadLetters', () => {
  let run = 0;
  let dlqUrl: string;
  let deliveryUrl: string;
  const arnOf = (url: string) => `arn:aws:sqs:us-east-1:000000000000:${url.split('/').at(-1)}`;

  beforeEach(() => {
    // Fresh URLs per test: queue ARNs are cached per URL for the life of the module.
    run++;
    dlqUrl = `https://sqs.us-east-1.amazonaws.com/000000000000/dlq-${run}`;
    deliveryUrl = `https://sqs.us-east-1.amazonaws.com/000000000000/deliveries-${run}`;
    sqsMock.reset();
    sqsMock
      .on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: arnOf(dlqUrl) } })
      .on(GetQueueAttributesCommand, { QueueUrl: deliveryUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: arnOf(deliveryUrl) } });
  });

  const sdkError = (name: string, message: string, httpStatusCode: number) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });

  it('starts a message move task from the DLQ to the delivery queue where SQS has one', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });

    // Act
    const outcome = await redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    expect(outcome).toEqual({ mode: 'move-task', taskHandle: 'handle-1' });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand).map((call) => call.args[0].input)).toEqual([
      { SourceArn: arnOf(dlqUrl), DestinationArn: arnOf(deliveryUrl) },
    ]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('looks the queue ARNs up once, then reuses them', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-2' });

    // Act
    await redriveDeadLetters(dlqUrl, deliveryUrl);
    await redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    expect(sqsMock.commandCalls(GetQueueAttributesCommand)).toHaveLength(2);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(2);
  });

  it('copies back where the service lacks move tasks, deleting only what was sent', async () => {
    // Prepare: moto's answer, an HTML page the SDK cannot parse; then two messages, then none.
    sqsMock.on(StartMessageMoveTaskCommand).rejects(sdkError('SyntaxError', 'Unexpected token <', 500));
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'm1', ReceiptHandle: 'r1', Body: 'one' },
          { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'two' },
        ],
      })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'n1', MD5OfMessageBody: '' },
        { Id: '1', MessageId: 'n2', MD5OfMessageBody: '' },
      ],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }, { Id: '1' }] });

    // Act
    const outcome = await redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 2 });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toEqual({
      QueueUrl: deliveryUrl,
      Entries: [
        { Id: '0', MessageBody: 'one' },
        { Id: '1', MessageBody: 'two' },
      ],
    });
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input).toEqual({
      QueueUrl: dlqUrl,
      Entries: [
        { Id: '0', ReceiptHandle: 'r1' },
        { Id: '1', ReceiptHandle: 'r2' },
      ],
    });
  });

  it('leaves a message whose send SQS refused in the DLQ, and stops', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).rejects(sdkError('UnsupportedOperation', 'not here', 400));
    sqsMock.on(ReceiveMessageCommand).resolves({
      Messages: [
        { MessageId: 'm1', ReceiptHandle: 'r1', Body: 'one' },
        { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'two' },
      ],
    });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '1', MessageId: 'n2', MD5OfMessageBody: '' }],
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });

    // Act
    const outcome = await redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 1 });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'r2' },
    ]);
  });

  it('never deletes when the send itself fails', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).rejects(sdkError('InvalidAction', 'no such action', 400));
    sqsMock
      .on(ReceiveMessageCommand)
      .resolves({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'r1', Body: 'x' }] });
    sqsMock.on(SendMessageBatchCommand).rejects(sdkError('ServiceUnavailable', 'try later', 503));

    // Act
    const outcome = redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    await expect(outcome).rejects.toThrow('try later');
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
  });

  it('reports a real refusal of the move task instead of working around it', async () => {
    // Prepare
    sqsMock
      .on(StartMessageMoveTaskCommand)
      .rejects(sdkError('AccessDenied', 'not authorized to perform sqs:StartMessageMoveTask', 403));

    // Act
    const outcome = redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    await expect(outcome).rejects.toThrow(/not authorized/);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('copies at most 100 messages per request', async () => {
    // Prepare: an endless DLQ.
    sqsMock.on(StartMessageMoveTaskCommand).rejects(sdkError('SyntaxError', 'Unexpected token <', 500));
    let next = 0;
    sqsMock.on(ReceiveMessageCommand).callsFake((input: { MaxNumberOfMessages: number }) => ({
      Messages: Array.from({ length: input.MaxNumberOfMessages }, () => {
        next++;
        return { MessageId: `m${next}`, ReceiptHandle: `r${next}`, Body: String(next) };
      }),
    }));
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: 'n', MD5OfMessageBody: '' })),
    }));
    sqsMock.on(DeleteMessageBatchCommand).resolves({});

    // Act
    const outcome = await redriveDeadLetters(dlqUrl, deliveryUrl);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 100 });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(10);
  });
});

describe('isMoveTaskUnsupported', () => {
  const sdkError = (name: string, message: string, httpStatusCode: number) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });

  it('recognises services without the action', () => {
    expect(isMoveTaskUnsupported(sdkError('UnsupportedOperation', 'x', 400))).toBe(true);
    expect(isMoveTaskUnsupported(sdkError('Error', 'StartMessageMoveTask is not yet implemented', 500))).toBe(
      true,
    );
    expect(isMoveTaskUnsupported(sdkError('Error', 'whatever', 501))).toBe(true);
    expect(isMoveTaskUnsupported(sdkError('SyntaxError', 'Unexpected token <', 500))).toBe(true);
  });

  it('does not mistake refusals and outages for a missing action', () => {
    expect(isMoveTaskUnsupported(sdkError('AccessDenied', 'not authorized to perform', 403))).toBe(false);
    expect(isMoveTaskUnsupported(sdkError('InvalidParameterValue', 'a task is already running', 400))).toBe(
      false,
    );
    expect(isMoveTaskUnsupported(sdkError('InternalError', 'try again', 500))).toBe(false);
    expect(isMoveTaskUnsupported(new Error('socket hang up'))).toBe(false);
  });
});
