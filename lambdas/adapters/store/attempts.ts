/**
 * The Attempts table (ATTEMPTS_TABLE in lambdas/core/schema.ts): failed attempts only, with the
 * receiver's response excerpt; a success is summarised on its delivery.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DELIVERY_RETENTION_SECONDS } from '../../core/config.ts';
import type { AttemptRecord } from '../../core/records.ts';
import { documents } from '../clients.ts';
import { epochSeconds, type TableName } from './tables.ts';

/** Operations on the Attempts table named by `table`. */
export function attemptsRepository(table: TableName) {
  /** Stores a failed attempt with the receiver's response excerpt. */
  async function putAttempt(deliveryId: string, attempt: AttemptRecord): Promise<void> {
    await documents.send(
      new PutCommand({
        TableName: table(),
        Item: { deliveryId, ...attempt, expiresAt: epochSeconds(Date.now()) + DELIVERY_RETENTION_SECONDS },
      }),
    );
  }

  async function listAttempts(deliveryId: string): Promise<AttemptRecord[]> {
    const items: AttemptRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await documents.send(
        new QueryCommand({
          TableName: table(),
          KeyConditionExpression: 'deliveryId = :id',
          ExpressionAttributeValues: { ':id': deliveryId },
          ExclusiveStartKey: start,
        }),
      );
      for (const { deliveryId: _id, expiresAt: _ttl, ...attempt } of Items)
        items.push(attempt as AttemptRecord);
      start = LastEvaluatedKey;
    } while (start);
    return items;
  }

  return { putAttempt, listAttempts };
}

/** The Attempts table's operations. */
export type AttemptsRepository = ReturnType<typeof attemptsRepository>;
