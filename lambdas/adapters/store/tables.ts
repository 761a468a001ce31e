/**
 * What the table repositories share: each table's name (read from the environment the stack, or
 * local mode, set), the failed write condition, and the opaque cursors of the API's pages.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  QueryCommand,
  type QueryCommandInput,
  type UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { TableDefinition } from '../../core/schema.ts';
import { documents } from '../clients.ts';

/** Table names, when given; otherwise each is read from its environment variable. */
export interface TableNames {
  readonly events: string;
  readonly deliveries: string;
  readonly attempts: string;
  readonly endpoints: string;
}

/**
 * A table's name, looked up at each use (the configured one, else its environment variable), so
 * each function needs (and is given) only the tables it touches.
 */
export type TableName = () => string;

export function tableName(configured: string | undefined, definition: TableDefinition): TableName {
  return () => {
    const name = configured ?? process.env[definition.envVar];
    if (!name) throw new Error(`environment variable ${definition.envVar} is not set`);
    return name;
  };
}

export const epochSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Whether a conditional write was refused because its condition failed. */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** Sends a conditional update: its output, or undefined when its condition failed; other errors throw. */
export async function conditionalUpdate(command: UpdateCommand): Promise<UpdateCommandOutput | undefined> {
  try {
    return await documents.send(command);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** Sends a conditional update: true when it was made, false when its condition failed; other errors throw. */
export const conditionally = async (command: UpdateCommand): Promise<boolean> =>
  (await conditionalUpdate(command)) !== undefined;

export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;

/** Decodes a cursor this API issued; anything else is undefined (the caller answers 400). */
export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
): Record<string, unknown> | undefined {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!key || typeof key !== 'object' || Array.isArray(key)) return undefined;
    const entries = Object.entries(key);
    const valid =
      entries.length === expectedKeys.length &&
      entries.every(
        ([name, value]) => expectedKeys.includes(name) && ['string', 'number'].includes(typeof value),
      );
    return valid ? (key as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Deliveries of one partition newest first: Queries (each asking one more than `limit`, to know
 * whether another page exists) until `limit` + 1 items or the end. `input` is sorted newest first;
 * its key condition may use BETWEEN up to the cursor's id, which includes the upper bound, so the
 * item `excludeId` (the cursor's own, on the previous page) is left out.
 */
export async function queryNewestFirst<T extends { id: string }>(
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey' | 'ScanIndexForward'>,
  limit: number,
  excludeId: string | undefined,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await documents.send(
      new QueryCommand({ ...input, ScanIndexForward: false, Limit: limit + 1, ExclusiveStartKey: start }),
    );
    items.push(...(Items as T[]).filter((item) => item.id !== excludeId));
    start = LastEvaluatedKey;
  } while (start && items.length <= limit);
  return { items: items.slice(0, limit + 1), more: items.length > limit || start !== undefined };
}
