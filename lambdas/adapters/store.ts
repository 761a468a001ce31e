/**
 * DynamoDB access, one repository per table under ./store/: endpoints (and the tenant records
 * kept beside them), events (which double as idempotency records), deliveries and failed attempts; the records they keep are in
 * lambdas/core/records.ts. The key design (see lambdas/core/schema.ts and the README) keeps the
 * happy path of one event to one endpoint at two write units: the event put, and the delivery's
 * outcome. Attempt items and the sparse failure index are written only when something failed.
 *
 * {@link Store} puts the repositories behind one object, which is what the handlers are given.
 */
import { ATTEMPTS_TABLE, DELIVERIES_TABLE, ENDPOINTS_TABLE, EVENTS_TABLE } from '../core/schema.ts';
import { type AttemptsRepository, attemptsRepository } from './store/attempts.ts';
import { type DeliveriesRepository, deliveriesRepository } from './store/deliveries.ts';
import { type EndpointsRepository, endpointsRepository } from './store/endpoints.ts';
import { type EventsRepository, eventsRepository } from './store/events.ts';
import { type FailureViewRepository, failureViewRepository } from './store/failure-view.ts';
import { type TableNames, tableName } from './store/tables.ts';
import { type TenantsRepository, tenantsRepository } from './store/tenants.ts';

export {
  type AttemptRecord,
  BACKLOG_SHARD,
  type DeliveryKey,
  type DeliveryRecord,
  DUE_WAIT_KEY,
  dueWaitAt,
  type EndpointRecord,
  type EventRecord,
  type EventState,
  heldWaitKey,
  isQueued,
  type Page,
  SWEEP_SHARD,
} from '../core/records.ts';
export { decodeCursor, encodeCursor, type TableNames } from './store/tables.ts';

/** Every table's operations, as one object (no two repositories share an operation's name). */
export interface Store
  extends EndpointsRepository,
    TenantsRepository,
    EventsRepository,
    DeliveriesRepository,
    FailureViewRepository,
    AttemptsRepository {}

/**
 * The repositories, bound to table names: those given, else each read from its environment
 * variable when first used, so each function needs (and is given) only the tables it touches.
 * The class merges with the interface above, whose members the constructor assigns.
 */
export class Store {
  constructor(configured: Partial<TableNames> = {}) {
    Object.assign(
      this,
      endpointsRepository(tableName(configured.endpoints, ENDPOINTS_TABLE)),
      tenantsRepository(tableName(configured.endpoints, ENDPOINTS_TABLE)),
      eventsRepository(tableName(configured.events, EVENTS_TABLE)),
      deliveriesRepository(tableName(configured.deliveries, DELIVERIES_TABLE)),
      failureViewRepository(tableName(configured.deliveries, DELIVERIES_TABLE)),
      attemptsRepository(tableName(configured.attempts, ATTEMPTS_TABLE)),
    );
  }
}
