/**
 * The endpoint changes an operational event reports (lambdas/core/operational-events.ts), as
 * conditional writes on the Endpoints table: each succeeds for one caller only, however many
 * workers attempt it at once, and returns the endpoint as it was, so the caller that changed the
 * state (and only that one) publishes the event. A caller whose condition failed gets undefined:
 * the state had already changed.
 *
 * The caller passes the endpoint it read (its id and tenant give the item's key), so a transition
 * costs one write and no read.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EndpointRecord } from '../../core/records.ts';
import { DEFAULT_TENANT, endpointPartition } from '../../core/tenants.ts';
import { endpointFromItem } from './endpoints.ts';
import { conditionalUpdate, type TableName } from './tables.ts';

/** What identifies an endpoint's item: its id and its tenant (absent: the default tenant's). */
export type EndpointRef = Pick<EndpointRecord, 'id' | 'tenantId'>;

/** The endpoint transitions the delivery worker (and the API) publish events about. */
export interface EndpointTransitions {
  /** Disables the endpoint if it is enabled: the endpoint as it was, or undefined if it was not enabled (or is gone). */
  disableIfEnabled(
    endpoint: EndpointRef,
    reason: string,
    nowIso: string,
  ): Promise<EndpointRecord | undefined>;
  /**
   * Ends the endpoint's failure run (closes its circuit, as `resetEndpointFailures` does) if it has
   * one: the endpoint as it was, or undefined if the run was already over (or it is gone).
   */
  endFailureRun(endpoint: EndpointRef): Promise<EndpointRecord | undefined>;
}

const keyOf = (endpoint: EndpointRef) => ({
  pk: endpointPartition(endpoint.tenantId ?? DEFAULT_TENANT),
  id: endpoint.id,
});

const toRecord = (item: Record<string, unknown> | undefined): EndpointRecord | undefined =>
  item ? endpointFromItem(item) : undefined;

/** The transitions on the Endpoints table named by `table`. */
export function endpointTransitionsRepository(table: TableName): EndpointTransitions {
  return {
    async disableIfEnabled(endpoint, reason, nowIso) {
      const written = await conditionalUpdate(
        new UpdateCommand({
          TableName: table(),
          Key: keyOf(endpoint),
          UpdateExpression: 'SET enabled = :false, disabledReason = :reason, updatedAt = :now',
          ConditionExpression: 'attribute_exists(id) AND enabled = :true',
          ExpressionAttributeValues: { ':false': false, ':true': true, ':reason': reason, ':now': nowIso },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return toRecord(written?.Attributes);
    },

    async endFailureRun(endpoint) {
      const written = await conditionalUpdate(
        new UpdateCommand({
          TableName: table(),
          Key: keyOf(endpoint),
          // The release lease goes too: what the open circuit held is released at once.
          UpdateExpression:
            'SET failureStreak = :zero REMOVE failingSince, circuitOpenUntil, releaseLeaseUntil',
          ConditionExpression:
            'attribute_exists(id) AND (failureStreak > :zero OR attribute_exists(failingSince) OR attribute_exists(circuitOpenUntil))',
          ExpressionAttributeValues: { ':zero': 0 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return toRecord(written?.Attributes);
    },
  };
}
