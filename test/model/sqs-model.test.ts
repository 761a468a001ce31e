/**
 * The model queue and clock behave as the simulation relies on: time moves only through the
 * clock, the in-flight ceiling refuses receives, a receive past maxReceiveCount redrives, the
 * 12-hour visibility cap counts from the receive, delays hide messages without counting them in
 * flight, groups are served round-robin, and a long poll wakes when a delayed message is due.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.ts';
import { ModelQueue } from './sqs-model.ts';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');

function setup(options: { ceiling?: number; maxReceiveCount?: number } = {}) {
  const clock = new VirtualClock(T0);
  const queue = new ModelQueue(clock, {
    inFlightCeiling: options.ceiling ?? 100,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    visibilityTimeoutSeconds: 30,
  });
  return { clock, queue };
}

describe('model clock', () => {
  it('runs callbacks in time order and lets awaited sleeps resume at their virtual time', async () => {
    const { clock } = setup();
    const seen: Array<[string, number]> = [];
    const task = async (name: string, ms: number) => {
      await clock.sleep(ms);
      seen.push([name, clock.now() - T0]);
      await clock.sleep(ms);
      seen.push([`${name} again`, clock.now() - T0]);
    };
    void task('slow', 300);
    void task('fast', 100);
    await clock.run(T0 + 1000);
    expect(seen).toEqual([
      ['fast', 100],
      ['fast again', 200],
      ['slow', 300],
      ['slow again', 600],
    ]);
    expect(clock.now()).toBe(T0 + 1000);
  });
});

describe('model SQS queue', () => {
  it('refuses receives at the in-flight ceiling and takes them again once one is deleted', () => {
    const { queue } = setup({ ceiling: 3 });
    for (let n = 0; n < 5; n++) queue.send(`m${n}`, { groupId: 'g' });
    const first = queue.receive(10);
    expect(first).toHaveLength(3);
    expect(queue.receive(10)).toEqual([]);
    expect(queue.receivesAtCeiling).toBe(1);
    queue.delete(first[0]?.receiptHandle ?? '');
    expect(queue.receive(10).map((record) => record.body)).toEqual(['m3']);
    expect(queue.maxInFlight).toBe(3);
  });

  it('hands a message back after its visibility timeout with the receive count one higher, and redrives past maxReceiveCount', async () => {
    const { clock, queue } = setup({ maxReceiveCount: 2 });
    queue.send('poison', { groupId: 'g' });
    expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe('1');
    await clock.run(T0 + 29_000);
    expect(queue.receive()).toEqual([]);
    await clock.run(T0 + 30_000);
    expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe('2');
    await clock.run(T0 + 60_000);
    expect(queue.receive()).toEqual([]);
    expect(queue.redriven.map((message) => message.body)).toEqual(['poison']);
  });

  it('ChangeMessageVisibility keeps the message in flight, refuses past 12 hours from the receive, and 0 frees it', async () => {
    const { clock, queue } = setup();
    queue.send('m', { groupId: 'g' });
    const [record] = queue.receive();
    const handle = record?.receiptHandle ?? '';
    await clock.run(T0 + 20_000);
    let refused: unknown;
    try {
      queue.changeVisibility(handle, 12 * 3600);
    } catch (error) {
      refused = error;
    }
    expect((refused as Error | undefined)?.name).toBe('InvalidParameterValue');
    queue.changeVisibility(handle, 12 * 3600 - 60);
    expect(queue.inFlight).toBe(1);
    queue.changeVisibility(handle, 0);
    expect(queue.inFlight).toBe(0);
    expect(queue.receive()).toHaveLength(1);
    // An old receipt handle no longer deletes or changes anything.
    queue.delete(handle);
    expect(queue.inFlight).toBe(1);
  });

  it('a delayed message is neither visible nor in flight until its delay is over, and wakes a long poll then', async () => {
    const { clock, queue } = setup();
    queue.send('later', { groupId: 'g', delaySeconds: 5 });
    expect(queue.receive()).toEqual([]);
    expect(queue.inFlight).toBe(0);
    let wokeAt = 0;
    void queue.waitForMessages().then(() => {
      wokeAt = clock.now() - T0;
    });
    await clock.run(T0 + 10_000);
    expect(wokeAt).toBe(5000);
    expect(queue.receive().map((record) => record.body)).toEqual(['later']);
  });

  it('serves message groups round-robin, so one group with a backlog does not fill every batch', () => {
    const { queue } = setup();
    for (let n = 0; n < 20; n++) queue.send(`busy-${n}`, { groupId: 'busy' });
    queue.send('quiet-0', { groupId: 'quiet' });
    queue.send('quiet-1', { groupId: 'quiet' });
    const bodies = queue.receive(4).map((record) => record.body);
    expect(bodies).toEqual(['busy-0', 'quiet-0', 'busy-1', 'quiet-1']);
  });
});
