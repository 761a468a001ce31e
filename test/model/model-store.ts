/**
 * The in-memory store of the hardening tests ({@link FakeStore}, which mirrors the DynamoDB
 * store's conditions) with the `byWait` and `byBacklog` indexes kept as maps, so that the sweep's
 * queries (due retries, endpoints with a backlog) and the backlog's oldest-first read cost a
 * partition, not a scan of every delivery of a simulated hour.
 */
import {
  type DeliveryRecord,
  DUE_WAIT_KEY,
  dueWaitAt,
  type EndpointRecord,
  heldWaitKey,
} from '../../lambdas/adapters/store.ts';
import { FakeStore } from '../hardening/fakes.ts';

/** The deliveries by id, indexed by `waitKey` as the `byWait` GSI is. */
export class WaitIndexedDeliveries extends Map<string, DeliveryRecord> {
  readonly byWait = new Map<string, Map<string, DeliveryRecord>>();

  override set(id: string, record: DeliveryRecord): this {
    const previous = super.get(id);
    if (previous?.waitKey) this.byWait.get(previous.waitKey)?.delete(id);
    if (record.waitKey) {
      let partition = this.byWait.get(record.waitKey);
      if (!partition) {
        partition = new Map();
        this.byWait.set(record.waitKey, partition);
      }
      partition.set(id, record);
    }
    return super.set(id, record);
  }

  /** A `byWait` partition, by `waitAt` ascending (the GSI's sort key). */
  partition(waitKey: string): DeliveryRecord[] {
    return [...(this.byWait.get(waitKey)?.values() ?? [])].sort((a, b) =>
      String(a.waitAt) < String(b.waitAt) ? -1 : 1,
    );
  }
}

/** An array that keeps nothing: the model reads no write log, and 260,000 entries cost GC time. */
class Discarded<T> extends Array<T> {
  override push(..._items: T[]): number {
    return 0;
  }
}

export class ModelStore extends FakeStore {
  override readonly deliveries = new WaitIndexedDeliveries();
  override readonly outcomes = new Discarded<FakeStore['outcomes'][number]>();
  override readonly attempts = new Discarded<FakeStore['attempts'][number]>();
  override readonly endpointUpdates = new Discarded<FakeStore['endpointUpdates'][number]>();

  override heldDeliveries = async (endpointId: string, limit: number): Promise<DeliveryRecord[]> =>
    this.deliveries.partition(heldWaitKey(endpointId)).slice(0, limit);

  /** The real store's Query: `waitKey = due AND waitAt <= now`, soonest first. */
  dueDeliveries = async (nowMs: number, limit: number): Promise<DeliveryRecord[]> => {
    const until = dueWaitAt(nowMs);
    return this.deliveries
      .partition(DUE_WAIT_KEY)
      .filter((delivery) => String(delivery.waitAt) <= until)
      .slice(0, limit);
  };

  /** The real store's condition: moves the due time only from the one seen, only while due. */
  claimDue = async (
    _endpointId: string,
    id: string,
    seenWaitAt: string,
    untilMs: number,
  ): Promise<boolean> => {
    const delivery = this.deliveries.get(id);
    if (delivery?.waitKey !== DUE_WAIT_KEY || delivery.waitAt !== seenWaitAt) return false;
    this.deliveries.set(id, { ...delivery, waitAt: dueWaitAt(untilMs) });
    return true;
  };

  /** The sparse `byBacklog` index. */
  endpointsWithBacklog = async (limit: number): Promise<EndpointRecord[]> =>
    [...this.endpoints.values()].filter((endpoint) => endpoint.backlogShard).slice(0, limit);

  /** Every delivery in one `byWait` partition (for the final accounting). */
  waiting(waitKey: string): DeliveryRecord[] {
    return [...(this.deliveries.byWait.get(waitKey)?.values() ?? [])];
  }
}
