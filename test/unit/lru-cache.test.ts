/**
 * lambdas/adapters/lru-cache.ts, which the bundles use for `mnemonist/lru-cache`, behaves as
 * mnemonist's LRUCache for the operations @aws-sdk/endpoint-cache makes, checked on random
 * sequences of them, and the SDK's endpoint cache works on it.
 */
import { EndpointCache } from '@aws-sdk/endpoint-cache';
import fc from 'fast-check';
import MnemonistLRUCacheModule from 'mnemonist/lru-cache.js';
import { describe, expect, it } from 'vitest';

const MnemonistLRUCache = MnemonistLRUCacheModule as unknown as new <K, V>(
  capacity: number,
) => CacheLike & { k?: K; v?: V };

import LRUCache from '../../lambdas/adapters/lru-cache.ts';

type Op =
  | { op: 'set'; key: number; value: number }
  | { op: 'get' | 'peek' | 'has'; key: number }
  | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.nat(6), value: fc.integer() }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const),
      key: fc.nat(6),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

interface CacheLike {
  set(key: number, value: number): unknown;
  get(key: number): number | undefined;
  peek(key: number): number | undefined;
  has(key: number): boolean;
  clear(): void;
  readonly size: number;
}

function apply(cache: CacheLike, ops: readonly Op[]): unknown[] {
  return ops.map((step) => {
    if (step.op === 'set') cache.set(step.key, step.value);
    else if (step.op === 'clear') cache.clear();
    else return [cache[step.op](step.key), cache.size];
    return cache.size;
  });
}

describe('LRUCache', () => {
  it("answers every sequence of operations as mnemonist's does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 60 }), (capacity, ops) => {
        const ours = apply(new LRUCache<number, number>(capacity), ops);
        const theirs = apply(new MnemonistLRUCache<number, number>(capacity) as unknown as CacheLike, ops);
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 500 },
    );
  });

  it('evicts the least recently used, where get refreshes and peek does not', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(cache.peek('a')).toBe(1);
    cache.set('d', 4);
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([false, true, true]);
  });

  it('refuses a capacity that is not a positive number, as mnemonist does', () => {
    expect(() => new LRUCache(0)).toThrow('capacity should be positive number');
    expect(() => new MnemonistLRUCache(0)).toThrow('capacity should be positive number');
  });

  it("carries the SDK's endpoint cache", () => {
    // The class the DynamoDB client builds on mnemonist, run on ours instead.
    const cache = new EndpointCache(2);
    (cache as unknown as { cache: unknown }).cache = new LRUCache(2);
    cache.set('k', [{ Address: 'dynamodb.example', CachePeriodInMinutes: 1 }]);
    expect(cache.getEndpoint('k')).toBe('dynamodb.example');
    cache.delete('k');
    expect(cache.getEndpoint('k')).toBeUndefined();
  });
});
