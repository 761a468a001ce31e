/**
 * What the bundles get for `mnemonist/lru-cache` (lib/webhook-function.ts's BUNDLE_ALIASES):
 * the least-recently-used cache that the SDK's DynamoDB endpoint-discovery cache
 * (`@aws-sdk/endpoint-cache`) is built on, with the methods it calls and mnemonist's semantics,
 * on a `Map` (which keeps insertion order). The DynamoDB client creates that cache whether or
 * not endpoint discovery is ever enabled (it is not here); mnemonist and the iterator library
 * it brings were 7 KB of every bundle with DynamoDB in it. test/unit/lru-cache.test.ts runs the
 * same operations on both and compares.
 */
export default class LRUCache<K, V> {
  readonly capacity: number;
  readonly #items = new Map<K, V>();

  constructor(capacity: number) {
    if (typeof capacity !== 'number' || capacity <= 0)
      throw new Error('mnemonist/lru-cache: capacity should be positive number.');
    if (!Number.isFinite(capacity) || Math.floor(capacity) !== capacity)
      throw new Error('mnemonist/lru-cache: capacity should be a finite positive integer.');
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Sets `key`, making it the most recently used, and evicts the least recently used when full. */
  set(key: K, value: V): void {
    if (this.#items.has(key)) this.#items.delete(key);
    else if (this.#items.size >= this.capacity) this.#items.delete(this.#items.keys().next().value as K);
    this.#items.set(key, value);
  }

  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** The value, and `key` becomes the most recently used. */
  get(key: K): V | undefined {
    if (!this.#items.has(key)) return undefined;
    const value = this.#items.get(key) as V;
    this.#items.delete(key);
    this.#items.set(key, value);
    return value;
  }

  /** The value, leaving the order of use as it was. */
  peek(key: K): V | undefined {
    return this.#items.get(key);
  }

  clear(): void {
    this.#items.clear();
  }
}
