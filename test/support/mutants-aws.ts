/**
 * What the adapters' mutation tests (test/integration/mutants-*.test.ts) share: one moto server
 * for the file, the environment the adapters' SDK clients read, and a recorder of the commands
 * a client sends, which can also answer or fail a command in the emulator's place.
 *
 * Under Stryker (vitest.mutate.config.ts) one moto server started by
 * test/support/mutants-moto-global.ts serves every run, so a mutant costs its tests, not a
 * server start; under plain `npx vitest run` each file starts its own. Either way every name a
 * test creates is unique, so runs sharing a server never see each other's queues or tables.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import type { KeyAttribute, TableDefinition } from '../../lambdas/core/schema.ts';
import { type MotoServer, SERVICE_ENDPOINT_ENV, startMoto } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';

declare module 'vitest' {
  interface ProvidedContext {
    /** The moto server test/support/mutants-moto-global.ts started, when it ran. */
    mutantsMotoEndpoint?: string;
  }
}

export const REGION = 'us-east-1';

/**
 * Points the AWS SDK at a moto server for this file: the shared one if Stryker's global setup
 * started it, else one of its own (stopped after the file). Call at the top of the file, then
 * import the adapters in a `beforeAll` (their clients are created on import).
 */
export function useMoto(): { readonly endpoint: () => string } {
  let own: MotoServer | undefined;
  let endpoint = '';
  beforeAll(async () => {
    const shared = inject('mutantsMotoEndpoint');
    if (shared) endpoint = shared;
    else {
      own = await startMoto();
      endpoint = own.endpoint;
    }
    for (const variable of Object.values(SERVICE_ENDPOINT_ENV)) delete process.env[variable];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }, 60_000);
  afterAll(async () => {
    await own?.stop();
  });
  return { endpoint: () => endpoint };
}

/** A name no other run on the same server has used. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 12)}`;

/** One command a client sent (its input as the SDK middleware saw it, before serialisation). */
export interface SentCommand {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/**
 * What a test puts in front of the emulator for one command: return an output to answer in
 * its place, throw to fail the request, or call `send` (optionally with a changed input) to
 * let the emulator answer. Undefined lets the command through unchanged.
 */
export type Intercept = (
  command: SentCommand,
  send: (input?: Record<string, unknown>) => Promise<{ output: unknown }>,
) => Promise<{ output: unknown }> | undefined;

export interface CommandRecorder {
  readonly sent: SentCommand[];
  /** Names of the commands sent, in order. */
  names(): string[];
  intercept: Intercept | undefined;
  /** Forgets what was sent and removes the intercept (call in `afterEach`). */
  reset(): void;
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<{ output: unknown }>,
      options: { step: 'initialize' | 'build'; name: string },
    ): void;
  };
}

/**
 * Records (and lets a test intercept) every command `client` sends from now on: as the caller
 * gave it (`initialize`, the default), or as it goes out, after the document client's
 * marshalling and the serialiser (`build`).
 */
export function recordCommands(
  client: unknown,
  step: 'initialize' | 'build' = 'initialize',
): CommandRecorder {
  const recorder: CommandRecorder = {
    sent: [],
    names: () => recorder.sent.map((command) => command.command),
    intercept: undefined,
    reset: () => {
      recorder.sent.length = 0;
      recorder.intercept = undefined;
    },
  };
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const command = {
        command: String(context.commandName),
        input: structuredClone(args.input) as Record<string, unknown>,
      };
      recorder.sent.push(command);
      const send = (input?: Record<string, unknown>) => next(input ? { ...args, input } : args);
      return (await recorder.intercept?.(command, send)) ?? send();
    },
    { step, name: `mutantsRecordCommands-${step}` },
  );
  return recorder;
}

/** Creates a table of `definition`'s keys and indexes under a unique name; returns the name. */
export async function createTableOf(endpoint: string, definition: TableDefinition): Promise<string> {
  const name = uniqueName(`mutants-${definition.id.toLowerCase()}`);
  const dynamo = new DynamoDBClient({ endpoint, region: REGION, credentials: EMULATOR_CREDENTIALS });
  const keySchema = (partition: KeyAttribute, sort?: KeyAttribute) => [
    { AttributeName: partition.name, KeyType: 'HASH' as const },
    ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
  ];
  const attributes = new Map(
    [
      definition.partitionKey,
      definition.sortKey,
      ...definition.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ]
      .filter((key) => key !== undefined)
      .map((key) => [key.name, key.type]),
  );
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: keySchema(definition.partitionKey, definition.sortKey),
        ...(definition.indexes.length
          ? {
              GlobalSecondaryIndexes: definition.indexes.map((index) => ({
                IndexName: index.indexName,
                KeySchema: keySchema(index.partitionKey, index.sortKey),
                Projection: { ProjectionType: index.projection ?? ('ALL' as const) },
              })),
            }
          : {}),
      }),
    );
  } finally {
    dynamo.destroy();
  }
  return name;
}
