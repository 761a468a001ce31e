/**
 * Starts the product for an integration test file: one moto server per service (SQS,
 * DynamoDB, Secrets Manager), each on its own free port and started in parallel, as local
 * mode runs them; the local stack (real handlers, real SQS and DynamoDB semantics); and an
 * API client.
 * Optionally records every AWS SDK command each handler sends (for the deploy-fidelity check).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RetryPolicy } from '../../lambdas/core/config.ts';
import {
  type LocalFunction,
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '../../local/local-stack.ts';
import { type MotoServers, startMotoPerService } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';

export const TEST_API_KEY = 'whk_integration-test-key';

/** One AWS SDK command a handler sent. */
export interface RecordedCall {
  readonly fn: LocalFunction;
  /** SDK client class, e.g. `DynamoDBClient`. */
  readonly client: string;
  readonly command: string;
  readonly input: Record<string, unknown>;
}

export interface HarnessOptions {
  readonly policy: RetryPolicy;
  readonly env?: Record<string, string>;
  /** Record SDK commands and environment reads per handler. */
  readonly record?: boolean;
  /** How often local mode's sweep timer runs (tests mostly call `stack.sweep()` themselves). */
  readonly sweepIntervalMs?: number;
  /** Local mode's operational events: the emulator's bus, rule and queue, and their log. */
  readonly operationalEvents?: Pick<LocalStackOptions, 'onOperationalEvent'>;
}

export interface ApiResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface Harness {
  /** The emulators: `moto.endpoints.sqs`, `.dynamodb`, `.secretsManager`. */
  readonly moto: MotoServers;
  readonly stack: LocalStack;
  readonly calls: RecordedCall[];
  readonly envReads: Map<LocalFunction, Set<string>>;
  readonly sqs: SQSClient;
  /** Calls the local API with the test key (pass `apiKey: null` to send none). */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResult<T>>;
  queueCounts(queueUrl: string): Promise<{ visible: number; inFlight: number }>;
  /** Hooks run on each recorded SDK command before it is sent; throw to inject a failure. */
  readonly interceptors: Array<(call: RecordedCall) => void>;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const moto = await startMotoPerService();
  const calls: RecordedCall[] = [];
  const envReads = new Map<LocalFunction, Set<string>>([
    ['api', new Set()],
    ['pages', new Set()],
    ['delivery', new Set()],
    ['sweeper', new Set()],
  ]);
  const interceptors: Array<(call: RecordedCall) => void> = [];
  const actor = new AsyncLocalStorage<LocalFunction>();

  const realEnv = process.env;
  if (options.record) {
    process.env = new Proxy(realEnv, {
      get(target, key, receiver) {
        const fn = actor.getStore();
        if (fn && typeof key === 'string') envReads.get(fn)?.add(key);
        return Reflect.get(target, key, receiver);
      },
      // process.env refuses the partial descriptor a default [[Set]] through a proxy defines.
      set(target, key, value) {
        if (typeof key === 'string') target[key] = String(value);
        return true;
      },
    });
  }

  const stack = await startLocalStack({
    endpoint: moto.endpoints,
    apiKey: TEST_API_KEY,
    policy: options.policy,
    port: 0,
    prefix: 'webhooks-test',
    env: {
      POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      // Event checks come back after seconds, not a minute, so tests see them.
      WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: '2',
      ...options.env,
    },
    instrument: (fn, run) => actor.run(fn, run),
    ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    ...(options.operationalEvents ? { operationalEvents: true, ...options.operationalEvents } : {}),
  }).catch(async (error: Error) => {
    // A failed start must not leave its servers (or this proxy) behind for the next file.
    process.env = realEnv;
    await moto.stop();
    throw error;
  });

  if (options.record) {
    const { allClients } = await import('../../lambdas/adapters/clients.ts');
    type Next = (args: { input: unknown }) => Promise<unknown>;
    type Stack = {
      add(
        middleware: (next: Next, context: { commandName?: string; clientName?: string }) => Next,
        options: { step: 'initialize'; name: string },
      ): void;
    };
    for (const client of allClients) {
      (client.middlewareStack as unknown as Stack).add(
        (next, context) => async (args) => {
          const fn = actor.getStore();
          if (fn) {
            const call: RecordedCall = {
              fn,
              client: String(context.clientName),
              command: String(context.commandName),
              input: args.input as Record<string, unknown>,
            };
            calls.push(call);
            for (const intercept of interceptors) intercept(call);
          }
          return next(args);
        },
        { step: 'initialize', name: 'recordHandlerCalls' },
      );
    }
  }

  const sqs = new SQSClient({
    endpoint: moto.endpoints.sqs,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });
  return {
    moto,
    stack,
    calls,
    envReads,
    sqs,
    interceptors,
    api: async (method, path, body, headers = {}) => {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TEST_API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? JSON.parse(text) : undefined,
      };
    },
    queueCounts: async (queueUrl) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    },
    stop: async () => {
      // Later harnesses in this worker must see the real environment, not this proxy of it.
      process.env = realEnv;
      await stack.stop();
      sqs.destroy();
      await moto.stop();
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Receives (and hides briefly) what is in a queue, to inspect bodies. */
export async function peek(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }),
  );
  return Messages.map((message) => message.Body ?? '');
}
