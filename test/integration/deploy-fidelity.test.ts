/**
 * Deploy fidelity without an AWS account: every AWS SDK command each handler sends during a
 * full local run is recorded, and the synthesized template must grant that function's role
 * exactly those actions on exactly those resources — nothing missing (the deployed function
 * would fail) and nothing extra (least privilege). Every environment variable a handler
 * reads must be set on that function in the template.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/adapters/store.ts';
import { deliveryId } from '../../lambdas/core/ids.ts';
import { encodeRelease } from '../../lambdas/core/payload.ts';
import { synthesize } from '../cdk/stack-fixture.ts';
import { eventually, type Harness, type RecordedCall, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

type Fn = 'api' | 'pages' | 'delivery' | 'sweeper';
const SERVICE_NAMES: Record<Fn, string> = {
  api: 'webhooks-api',
  pages: 'webhooks-pages',
  delivery: 'webhooks-delivery',
  sweeper: 'webhooks-sweeper',
};

/** What the Lambda event source mapping itself needs on the queue (not the handler's calls). */
const EVENT_SOURCE_MAPPING_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];

/** Batch APIs are authorised by their single-message action. */
const ACTION_OF_BATCH: Record<string, string> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

/**
 * Variables our own code names (upper-case string literals under lambdas/): reads of anything
 * else come from the runtime, the SDK, Powertools or the test tooling.
 */
function namesInOurCode(): Set<string> {
  const names = new Set<string>();
  const files = readdirSync('lambdas', { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  for (const file of files) {
    for (const match of readFileSync(join('lambdas', file), 'utf8').matchAll(
      /['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g,
    )) {
      names.add(match[1] as string);
    }
  }
  return names;
}

let harness: Harness;
let receivers: TestReceiver[] = [];

async function scenario(): Promise<void> {
  const ok = await startReceiver();
  const flaky = await startReceiver((_, index) =>
    index === 0 ? { status: 500, body: 'once' } : { status: 200 },
  );
  const gone = await startReceiver(() => ({ status: 410 }));
  receivers = [ok, flaky, gone];
  const create = async (url: string) =>
    (await harness.api<{ id: string }>('POST', '/endpoints', { url })).body.id;
  const okId = await create(ok.url);
  const flakyId = await create(flaky.url);
  const goneId = await create(gone.url);
  const doomedId = await create(ok.url);

  await harness.api('GET', '/endpoints');
  await harness.api('GET', `/endpoints/${okId}`);
  await harness.api('PATCH', `/endpoints/${okId}`, { description: 'fidelity' });
  await harness.api('POST', `/endpoints/${okId}/secret/rotate`);
  await harness.api('DELETE', `/endpoints/${doomedId}`);

  // Fan-out to every enabled endpoint, with an Idempotency-Key (read before the put).
  const sent = await harness.api<{ id: string; deliveries: Array<{ id: string; endpointId: string }> }>(
    'POST',
    '/events',
    { type: 'fidelity.test', data: { n: 1 } },
    { 'idempotency-key': 'fidelity-1' },
  );
  expect(sent.status).toBe(202);
  await eventually(async () => (flaky.received.length >= 2 && gone.received.length >= 1 ? true : undefined));
  const okDelivery = sent.body.deliveries.find((d) => d.endpointId === okId)!;
  await eventually(async () => {
    const { body } = await harness.api<{ status: string }>('GET', `/deliveries/${okDelivery.id}`);
    return body.status === 'delivered' ? true : undefined;
  });
  await harness.api('GET', `/events/${sent.body.id}`);
  await harness.api('GET', `/deliveries?endpointId=${flakyId}`);
  await harness.api('GET', `/deliveries?endpointId=${goneId}&status=dead`);
  await harness.api('GET', '/dlq');
  // Tenants, keys and portal links; the cross-tenant failure view; an endpoint id this instance
  // has never seen (its tenant is looked up in byEndpointId).
  await harness.api('PUT', '/tenants/fidelity', { name: 'Fidelity' });
  await harness.api('POST', '/tenants/fidelity/portal-sessions', {});
  const key = await harness.api<{ id: string }>('POST', '/api-keys', { scope: 'send' });
  await harness.api('DELETE', `/api-keys/${key.body.id}`);
  await harness.api('GET', '/deliveries?status=dead');
  await harness.api('GET', '/endpoints/ep_00000000000000000000000000');
  // The 410 parked its message in the DLQ: redrive it (on moto the move task is refused and
  // the copy fallback receives, sends and deletes).
  await eventually(async () =>
    (await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl)).visible >= 1 ? true : undefined,
  );
  const redriven = await harness.api<{ mode: string; moved: number }>('POST', '/dlq/redrive');
  expect(redriven.body).toEqual({ mode: 'copied', moved: expect.any(Number) });
  expect(redriven.body.moved).toBeGreaterThanOrEqual(1);
  const page = await fetch(`${harness.stack.apiUrl}/dashboard`);
  expect(page.status).toBe(200);
  // A delivered delivery is not retried; a dead one is, once its endpoint is enabled again.
  const again = await harness.api('POST', `/deliveries/${okDelivery.id}/retry`);
  expect(again.status).toBe(409);
  await harness.api('PATCH', `/endpoints/${goneId}`, { enabled: true });
  const goneDelivery = sent.body.deliveries.find((d) => d.endpointId === goneId)!;
  const retried = await harness.api('POST', `/deliveries/${goneDelivery.id}/retry`);
  expect(retried.status).toBe(202);
  await eventually(async () => (gone.received.length >= 2 ? true : undefined));
  await harness.api('PATCH', `/endpoints/${goneId}`, { enabled: true });
  const recovered = await harness.api('POST', `/endpoints/${goneId}/recover?since=0`);
  expect(recovered.status).toBe(202);

  // A backlog release for an endpoint the delivery function has not seen: it finds the
  // endpoint's tenant in byEndpointId (a release names only the endpoint).
  const unseenId = await create(ok.url);
  await harness.sqs.send(
    new SendMessageCommand({
      QueueUrl: harness.stack.resources.deliveryQueueUrl,
      MessageBody: encodeRelease(unseenId),
    }),
  );
  await eventually(async () =>
    harness.calls.some(
      (call) =>
        call.fn === 'delivery' && call.command === 'QueryCommand' && call.input.IndexName === 'byEndpointId',
    )
      ? true
      : undefined,
  );

  // An SQS outage during fan-out: the event is stored accepted and handed to the sweep, whose
  // run queues it.
  let failSends = 3;
  harness.interceptors.push((call) => {
    if (call.fn === 'api' && call.command === 'SendMessageBatchCommand' && failSends > 0) {
      failSends--;
      throw new Error('injected SQS outage');
    }
  });
  const refused = await harness.api<{ error: { message: string } }>('POST', '/events', {
    type: 'fidelity.test',
    data: { n: 2 },
    endpointIds: [okId],
  });
  expect(refused.status).toBe(503);
  expect(await harness.stack.sweep()).toMatchObject({ found: 1, queued: 1 });
  await eventually(async () => (ok.received.length >= 2 ? true : undefined));

  // A keyed event whose "queued" mark is lost: its event check finds it accepted once the lease
  // is over and hands it to the sweep.
  let failMark = true;
  harness.interceptors.push((call) => {
    const values = JSON.stringify(call.input.ExpressionAttributeValues ?? {});
    if (
      call.fn === 'api' &&
      call.command === 'UpdateItemCommand' &&
      values.includes('"queued"') &&
      failMark
    ) {
      failMark = false;
      throw new Error('injected DynamoDB outage');
    }
  });
  const unmarked = await harness.api<{ id: string }>(
    'POST',
    '/events',
    { type: 'fidelity.test', data: { n: 3 }, endpointIds: [okId] },
    { 'idempotency-key': 'fidelity-unmarked' },
  );
  expect(unmarked.status).toBe(202);
  await eventually(
    async () => ((await harness.stack.sweep()).found >= 1 ? true : undefined),
    30_000,
    'the event check to hand the unmarked event to the sweep',
  );

  // A dead endpoint: its circuit opens (threshold 2), the next deliveries are held in its
  // backlog, the release sends one probe when the circuit turns half-open, and re-enabling it
  // once it heals releases the rest.
  let down = true;
  const dead = await startReceiver(() => (down ? { status: 500 } : { status: 200 }));
  receivers.push(dead);
  const deadId = await create(dead.url);
  for (let n = 0; n < 4; n++) {
    await harness.api('POST', '/events', { type: 'fidelity.dead', data: { n }, endpointIds: [deadId] });
  }
  await eventually(
    async () => {
      const { body } = await harness.api<{ backlog: { size: number } }>('GET', `/endpoints/${deadId}`);
      return body.backlog.size >= 2 && dead.received.length >= 3 ? true : undefined;
    },
    30_000,
    'a held backlog and a probe',
  );
  down = false;
  await harness.api('PATCH', `/endpoints/${deadId}`, { enabled: true });
  await eventually(async () =>
    new Set(dead.received.map((w) => w.headers['webhook-id'])).size >= 4 ? true : undefined,
  );

  // A retry whose long wait is over (written here as the worker writes one past the short-wait
  // window): the sweep claims it and sends it.
  const dueId = await create(ok.url);
  const createdAtMs = Date.now();
  const store = new Store();
  const dueEvent = await harness.api<{ id: string }>('POST', '/events', {
    type: 'fidelity.due',
    data: {},
    endpointIds: [okId],
  });
  const event = await store.getEvent(dueEvent.body.id);
  await store.recordOutcome({
    endpointId: dueId,
    id: deliveryId(dueEvent.body.id, dueId, event?.createdAtMs ?? createdAtMs),
    eventId: dueEvent.body.id,
    eventType: 'fidelity.due',
    createdAtMs: event?.createdAtMs ?? createdAtMs,
    status: 'failed',
    attempt: { attempt: 1, at: new Date().toISOString(), statusCode: 500, durationMs: 1 },
    nextAttemptAt: new Date(Date.now() - 1000).toISOString(),
    dueAtMs: Date.now() - 1000,
    redrive: false,
  });
  expect(await harness.stack.sweep()).toMatchObject({ due: { found: 1, sent: 1 } });
  await eventually(async () =>
    ok.received.filter((w) => w.headers['webhook-id'] === dueEvent.body.id).length >= 2 ? true : undefined,
  );
}

beforeAll(async () => {
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 3 },
    record: true,
    env: { WEBHOOKS_BREAKER_THRESHOLD: '2', WEBHOOKS_BREAKER_OPEN_SECONDS: '1' },
  });
  await scenario();
}, 180_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await harness?.stop();
});

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

/** A template value reduced to what it points at: a logical id, an index of one, or a secret name prefix. */
function canonical(value: unknown): string {
  const json = JSON.stringify(value);
  const prefix = /:secret:([^"]+)\/\*"/.exec(json);
  if (prefix) return `secret-prefix:${prefix[1]}`;
  const v = value as Record<string, unknown>;
  if (typeof v === 'object' && v !== null) {
    if ('Ref' in v) return String(v.Ref);
    if ('Fn::GetAtt' in v) return String((v['Fn::GetAtt'] as string[])[0]);
    if ('Fn::Join' in v) {
      const parts = (v['Fn::Join'] as [string, unknown[]])[1];
      const index = parts.map((p) => (typeof p === 'string' ? p : '')).join('');
      const base = parts.find((p) => typeof p !== 'string');
      if (index.startsWith('/index/')) return `${canonical(base)}${index}`;
    }
  }
  return json;
}

function functionResource(
  template: Template,
  fn: Fn,
): { environment: Record<string, unknown>; role: string } {
  const functions = template.findResources('AWS::Lambda::Function');
  for (const resource of Object.values(functions)) {
    const environment = (resource.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
    if (environment.POWERTOOLS_SERVICE_NAME === SERVICE_NAMES[fn]) {
      return { environment, role: canonical(resource.Properties.Role) };
    }
  }
  throw new Error(`no function with POWERTOOLS_SERVICE_NAME=${SERVICE_NAMES[fn]}`);
}

function grantedPairs(template: Template, role: string): Set<string> {
  const pairs = new Set<string>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as unknown[]).map(canonical);
    if (!roles.includes(role)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
      if (statement.Effect !== 'Allow') continue;
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const action of actions) {
        // Logs and traces are the runtime's, not the handler's.
        if (action.startsWith('logs:') || action.startsWith('xray:')) continue;
        for (const resource of resources) pairs.add(`${action} ${canonical(resource)}`);
      }
    }
  }
  return pairs;
}

const SERVICE_PREFIX: Record<string, string> = {
  DynamoDBClient: 'dynamodb',
  SQSClient: 'sqs',
  SecretsManagerClient: 'secretsmanager',
};

/**
 * StartMessageMoveTask names its source queue (the resource it is authorised on) by ARN: the
 * URL of the queue with that name, among the local environment's values.
 */
function queueUrlOf(arn: string | undefined, localEnv: NodeJS.ProcessEnv): string | undefined {
  const queueName = arn?.split(':').at(-1);
  if (!queueName) return undefined;
  return Object.values(localEnv).find((value) => value?.endsWith(`/${queueName}`));
}

/** The (action, resource) a recorded call needs, resolved through the env var that named the resource. */
function neededPair(
  call: RecordedCall,
  localEnv: NodeJS.ProcessEnv,
  templateEnv: Record<string, unknown>,
): string {
  const service = SERVICE_PREFIX[call.client];
  const raw = `${service}:${call.command.replace(/Command$/, '')}`;
  const action = ACTION_OF_BATCH[raw] ?? raw;
  const input = call.input as Record<string, string | undefined>;
  const name =
    input.TableName ??
    input.QueueUrl ??
    input.SecretId ??
    input.Name ??
    queueUrlOf(input.SourceArn, localEnv);
  if (!name) throw new Error(`cannot tell the resource of ${raw}`);
  const byValue = Object.keys(templateEnv).find((key) => localEnv[key] === name);
  if (byValue) {
    const index = input.IndexName ? `/index/${input.IndexName}` : '';
    return `${action} ${canonical(templateEnv[byValue])}${index}`;
  }
  const byPrefix = Object.keys(templateEnv).find(
    (key) => localEnv[key] && name.startsWith(`${localEnv[key]}/`),
  );
  if (byPrefix) return `${action} secret-prefix:${templateEnv[byPrefix]}`;
  throw new Error(`${raw} on ${name}: no environment variable of the function names this resource`);
}

/** Fewest AWS calls and environment reads of ours the scenario makes each function do. */
const AT_LEAST: Record<Fn, { calls: number; reads: number }> = {
  api: { calls: 6, reads: 4 },
  // The pages function calls no AWS service (its role holds nothing but its logs).
  pages: { calls: 0, reads: 0 },
  delivery: { calls: 6, reads: 4 },
  sweeper: { calls: 4, reads: 1 },
};

describe.each(['api', 'pages', 'delivery', 'sweeper'] as const)('the %s function', (fn) => {
  let template: Template;
  beforeAll(() => {
    template = synthesize({ bundle: false }).template;
  });

  it('is granted exactly the AWS actions its handler used, on exactly those resources', () => {
    // Prepare
    const { environment, role } = functionResource(template, fn);
    const calls = harness.calls.filter((call) => call.fn === fn);
    expect(calls.length).toBeGreaterThanOrEqual(AT_LEAST[fn].calls);
    if (fn === 'pages') expect(calls).toEqual([]);

    // Act
    const needed = new Set(calls.map((call) => neededPair(call, process.env, environment)));
    if (fn === 'delivery') {
      const queue = canonical(environment.DELIVERY_QUEUE_URL);
      for (const action of EVENT_SOURCE_MAPPING_ACTIONS) needed.add(`${action} ${queue}`);
    }
    const granted = grantedPairs(template, role);
    // Local mode configures no operational event bus, so nothing here calls PutEvents; the grant
    // (one bus, exactly) is checked in test/cdk/event-bus.test.ts and the call on moto in
    // test/integration/operational-events.test.ts.
    for (const pair of granted) if (pair.startsWith('events:PutEvents ')) needed.add(pair);

    // Assess
    expect([...needed].filter((pair) => !granted.has(pair)).sort()).toEqual([]);
    expect([...granted].filter((pair) => !needed.has(pair)).sort()).toEqual([]);
  });

  it('has every environment variable its handler reads set in the template', () => {
    // Prepare
    const { environment } = functionResource(template, fn);
    const ours = namesInOurCode();
    const reads = [...(harness.envReads.get(fn) ?? [])].filter(
      (name) => ours.has(name) && !name.startsWith('AWS_'),
    );

    // Assess
    expect(reads.length).toBeGreaterThanOrEqual(AT_LEAST[fn].reads);
    expect(reads.filter((name) => !(name in environment)).sort()).toEqual([]);
  });
});
