/**
 * Payload filters (lambdas/core/filter.ts): what matches, what is refused with which path, and
 * that hostile data (deep, huge, prototype keys, the wrong JSON type) neither throws nor matches
 * by accident. Properties with fast-check: `$not` inverts, `$and`/`$or` of one filter are that
 * filter, `$neq`/`$nin` are `$not` of `$eq`/`$in`, and neither function throws anything but a
 * FilterError on any input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../lambdas/core/errors.ts';
import {
  type FilterableEvent,
  FilterError,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  MAX_FILTER_IN_LENGTH,
  MAX_FILTER_NODES,
  matchesFilter,
  parseFilter,
} from '../../lambdas/core/filter.ts';

const paid: FilterableEvent = {
  type: 'invoice.paid',
  data: {
    invoiceId: 'inv_1',
    amount: 4200,
    currency: 'eur',
    paid: true,
    note: null,
    tags: ['vip', 'eu'],
    customer: { id: 'cus_1', country: 'FR', address: { city: 'Lyon' } },
  },
};

/** Data nested `levels` objects deep: `{a: {a: ... {a: 'leaf'}}}`. */
function deepData(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return value;
}

/** A filter nested `levels` objects deep under `data`. */
function deepFilter(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return { data: value };
}

/** JSON.parse keeps "__proto__" as an own key; an object literal would set the prototype. */
const withProtoKey = (json: string): unknown => JSON.parse(json);

const hugeArray = Array.from({ length: 1_000_000 }, (_, i) => i);

// [what, filter, event, expected]
const MATCHES: ReadonlyArray<readonly [string, unknown, FilterableEvent, boolean]> = [
  ['an empty filter matches every event', {}, paid, true],
  ['type equality', { type: 'invoice.paid' }, paid, true],
  ['type equality, another type', { type: 'invoice.created' }, paid, false],
  ['nested field equality', { data: { customer: { country: 'FR' } } }, paid, true],
  ['three levels down', { data: { customer: { address: { city: 'Lyon' } } } }, paid, true],
  ['nested field of another value', { data: { customer: { country: 'DE' } } }, paid, false],
  ['fields are ANDed', { type: 'invoice.paid', data: { currency: 'usd' } }, paid, false],
  ['boolean equality', { data: { paid: true } }, paid, true],
  ['null equals null', { data: { note: null } }, paid, true],
  ['null does not equal a missing field', { data: { missing: null } }, paid, false],
  ['an array equals exactly', { data: { tags: ['vip', 'eu'] } }, paid, true],
  ['an array in another order is not equal', { data: { tags: ['eu', 'vip'] } }, paid, false],
  ['a scalar does not match an array containing it', { data: { tags: 'vip' } }, paid, false],
  ['a nested object is a partial match', { data: { customer: { id: 'cus_1' } } }, paid, true],
  [
    '$eq with an object is exact (extra keys fail)',
    { data: { customer: { $eq: { id: 'cus_1' } } } },
    paid,
    false,
  ],
  [
    '$eq with the whole object',
    { data: { customer: { $eq: { id: 'cus_1', country: 'FR', address: { city: 'Lyon' } } } } },
    paid,
    true,
  ],
  ['$neq of another value', { data: { currency: { $neq: 'usd' } } }, paid, true],
  ['$neq of the value', { data: { currency: { $neq: 'eur' } } }, paid, false],
  ['$neq holds for a missing field', { data: { missing: { $neq: 'x' } } }, paid, true],
  ['$in', { type: { $in: ['invoice.created', 'invoice.paid'] } }, paid, true],
  ['$in without the value', { type: { $in: ['invoice.created'] } }, paid, false],
  ['$in compares arrays exactly', { data: { tags: { $in: [['vip', 'eu'], ['x']] } } }, paid, true],
  ['$nin', { data: { currency: { $nin: ['usd', 'gbp'] } } }, paid, true],
  ['$nin holds for a missing field', { data: { missing: { $nin: ['usd'] } } }, paid, true],
  ['$exists true', { data: { invoiceId: { $exists: true } } }, paid, true],
  ['$exists true on null', { data: { note: { $exists: true } } }, paid, true],
  ['$exists false on a missing field', { data: { refund: { $exists: false } } }, paid, true],
  ['$exists false on a present field', { data: { amount: { $exists: false } } }, paid, false],
  ['$gte at the bound', { data: { amount: { $gte: 4200 } } }, paid, true],
  ['$gt at the bound', { data: { amount: { $gt: 4200 } } }, paid, false],
  ['$lt and $gte together (a range)', { data: { amount: { $gte: 100, $lt: 5000 } } }, paid, true],
  ['$lte below the value', { data: { amount: { $lte: 4199.5 } } }, paid, false],
  ['type confusion: "4200" is not 4200', { data: { amount: '4200' } }, paid, false],
  [
    'type confusion: a numeric string is never compared',
    { data: { amount: { $gte: 1 } } },
    { type: 'x', data: { amount: '5' } },
    false,
  ],
  ['type confusion: true is not 1', { data: { paid: 1 } }, paid, false],
  ['type confusion: $in ["4200"] misses 4200', { data: { amount: { $in: ['4200'] } } }, paid, false],
  ['type confusion: null is not $lt 1', { data: { note: { $lt: 1 } } }, paid, false],
  ['type confusion: an array is no object', { data: { tags: { 0: 'vip' } } }, paid, false],
  ['$or, second branch', { $or: [{ type: 'a' }, { data: { currency: 'eur' } }] }, paid, true],
  ['$or, no branch', { $or: [{ type: 'a' }, { type: 'b' }] }, paid, false],
  ['$and', { $and: [{ type: 'invoice.paid' }, { data: { paid: true } }] }, paid, true],
  ['$not', { $not: { type: 'invoice.paid' } }, paid, false],
  ['$not on a field', { data: { amount: { $not: { $lt: 100 } } } }, paid, true],
  [
    '$or under a field',
    { data: { customer: { $or: [{ country: 'DE' }, { address: { city: 'Lyon' } }] } } },
    paid,
    true,
  ],
  ['fields and operators mixed', { data: { customer: { $exists: true, id: 'cus_1' } } }, paid, true],
  ['a field under a string is missing', { data: { currency: { code: { $exists: false } } } }, paid, true],
  [
    'data that is not an object: its fields are missing',
    { data: { a: 1 } },
    { type: 'x', data: 'text' },
    false,
  ],
  ['data absent: $exists false on data', { data: { $exists: false } }, { type: 'x', data: undefined }, true],
  ['data null equals null', { data: null }, { type: 'x', data: null }, true],
  // Hostile data.
  [
    'deeply nested data, shallow filter',
    { data: { a: { a: { $exists: true } } } },
    { type: 'x', data: deepData(100_000) },
    true,
  ],
  [
    'deeply nested data against $eq',
    { data: { $eq: { a: { a: 'leaf' } } } },
    { type: 'x', data: deepData(100_000) },
    false,
  ],
  [
    'a huge array against an exact array',
    { data: { list: [1, 2, 3] } },
    { type: 'x', data: { list: hugeArray } },
    false,
  ],
  [
    'a huge array against $in',
    { data: { list: { $in: [[1], [2]] } } },
    { type: 'x', data: { list: hugeArray } },
    false,
  ],
  [
    'no own "__proto__" in data: missing',
    withProtoKey('{"data": {"__proto__": {"$exists": false}}}'),
    paid,
    true,
  ],
  [
    '"__proto__" in filter and data, both own keys',
    withProtoKey('{"data": {"__proto__": {"admin": true}}}'),
    { type: 'x', data: withProtoKey('{"__proto__": {"admin": true}}') },
    true,
  ],
  [
    '"__proto__" in the filter does not match the prototype',
    withProtoKey('{"data": {"__proto__": {"$exists": true}}}'),
    paid,
    false,
  ],
  ['"constructor" is not inherited', { data: { constructor: { $exists: true } } }, paid, false],
  ['"toString" is not inherited', { data: { toString: { $exists: true } } }, paid, false],
  ['"length" of an array is not a field', { data: { tags: { length: 2 } } }, paid, false],
];

// [what, filter, path of the fault]
const REFUSED: ReadonlyArray<readonly [string, unknown, string]> = [
  ['not an object', 'invoice.paid', ''],
  ['an array', [{ type: 'a' }], ''],
  ['null', null, ''],
  ['an unknown top-level field', { event: 'a' }, 'event'],
  ['a value operator at the top', { $eq: 'a' }, '$eq'],
  ['an unknown operator', { data: { amount: { $regex: '^4' } } }, 'data.amount.$regex'],
  ['$gte with a string', { data: { amount: { $gte: '100' } } }, 'data.amount.$gte'],
  ['$lt with null', { data: { amount: { $lt: null } } }, 'data.amount.$lt'],
  ['$in with a scalar', { type: { $in: 'a' } }, 'type.$in'],
  ['$in empty', { type: { $in: [] } }, 'type.$in'],
  [
    '$in over its bound',
    { type: { $in: Array.from({ length: MAX_FILTER_IN_LENGTH + 1 }, (_, i) => i) } },
    'type.$in',
  ],
  ['$exists with a string', { data: { a: { $exists: 'yes' } } }, 'data.a.$exists'],
  ['$and empty', { $and: [] }, '$and'],
  ['$or with an object', { $or: { type: 'a' } }, '$or'],
  ['$or with a scalar entry', { $or: [{ type: 'a' }, 'b'] }, '$or[1]'],
  ['$not with a list', { $not: [{ type: 'a' }] }, '$not'],
  ['an unknown top-level field inside $or', { $or: [{ type: 'a' }, { kind: 'b' }] }, '$or[1].kind'],
  ['an empty object under a field', { data: { customer: {} } }, 'data.customer'],
  ['a non-finite number', { data: { amount: Number.POSITIVE_INFINITY } }, 'data.amount'],
  ['NaN as a bound', { data: { amount: { $gt: Number.NaN } } }, 'data.amount.$gt'],
  ['undefined', { data: { a: undefined } }, 'data.a'],
  ['a function', { data: { a: () => true } }, 'data.a'],
  ['a Date', { data: { at: new Date(0) } }, 'data.at'],
  ['deep nesting', deepFilter(MAX_FILTER_DEPTH), `data${'.a'.repeat(MAX_FILTER_DEPTH - 1)}`],
  ['very deep nesting', deepFilter(100_000), `data${'.a'.repeat(MAX_FILTER_DEPTH - 1)}`],
  [
    'too many values',
    { data: Object.fromEntries(Array.from({ length: MAX_FILTER_NODES }, (_, i) => [`f${i}`, i])) },
    `data.f${MAX_FILTER_NODES - 2}`,
  ],
  ['a huge array', { data: { list: hugeArray } }, `data.list[${MAX_FILTER_NODES - 3}]`],
  ['over the size bound', { data: { note: 'x'.repeat(MAX_FILTER_BYTES) } }, ''],
  ['a field name with a dot, in brackets', { data: { 'a.b': { $gte: 'x' } } }, 'data["a.b"].$gte'],
];

describe('matchesFilter', () => {
  it.each(MATCHES)('%s', (_what, filter, event, expected) => {
    // Prepare
    const parsed = parseFilter(filter);
    // Act
    const result = matchesFilter(parsed, event);
    // Assess
    expect(result).toBe(expected);
  });

  it('keeps a copy of the filter as source, not the caller object', () => {
    const input = { data: { amount: { $gte: 100 } } };
    const parsed = parseFilter(input);
    input.data.amount.$gte = 1_000_000;
    expect(parsed.source).toEqual({ data: { amount: { $gte: 100 } } });
    expect(matchesFilter(parsed, paid)).toBe(true);
  });

  it('reads no getter and never throws on data that throws when read', () => {
    let reads = 0;
    const trap = {
      get amount(): number {
        reads += 1;
        throw new Error('read');
      },
    };
    const proxy = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => {
          throw new Error('proxy');
        },
      },
    );
    const filter = parseFilter({ data: { amount: { $exists: true } } });
    expect(matchesFilter(filter, { type: 'x', data: trap })).toBe(false);
    expect(matchesFilter(filter, { type: 'x', data: proxy })).toBe(false);
    expect(reads).toBe(0);
  });
});

describe('parseFilter refuses, naming the path', () => {
  it.each(REFUSED)('%s', (_what, filter, path) => {
    let error: unknown;
    try {
      parseFilter(filter);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FilterError);
    expect((error as FilterError).path).toBe(path);
  });

  it('is a 400 invalid_filter whose message names the path and the reason', () => {
    const error = (() => {
      try {
        parseFilter({ data: { amount: { $gte: '100' } } });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({
      status: 400,
      code: 'invalid_filter',
      message: 'filter at data.amount.$gte: $gte takes a number',
    });
  });

  it('accepts a filter at each bound', () => {
    expect(() => parseFilter(deepFilter(MAX_FILTER_DEPTH - 1))).not.toThrow();
    const values = Array.from({ length: MAX_FILTER_IN_LENGTH }, (_, i) => i);
    expect(() => parseFilter({ data: { n: { $in: values } } })).not.toThrow();
    const nodes = Object.fromEntries(Array.from({ length: MAX_FILTER_NODES - 2 }, (_, i) => [`f${i}`, i]));
    expect(() => parseFilter({ data: nodes })).not.toThrow();
    const filler = MAX_FILTER_BYTES - JSON.stringify({ data: { note: '' } }).length;
    expect(() => parseFilter({ data: { note: 'x'.repeat(filler) } })).not.toThrow();
    expect(() => parseFilter({ data: { note: 'x'.repeat(filler + 1) } })).toThrow(FilterError);
  });

  it('counts the size in UTF-8 bytes', () => {
    const filler = MAX_FILTER_BYTES - JSON.stringify({ data: { note: '' } }).length;
    // 'é' is two bytes: half as many fit.
    expect(() => parseFilter({ data: { note: 'é'.repeat(filler / 2 + 1) } })).toThrow(FilterError);
    expect(() => parseFilter({ data: { note: 'é'.repeat(Math.floor(filler / 2)) } })).not.toThrow();
  });

  it('refuses a cyclic object by its depth', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.a = cyclic;
    expect(() => parseFilter({ data: cyclic })).toThrow(FilterError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

const RUNS = { numRuns: 300 };
const scalar = fc.oneof(
  fc.constantFrom('a', 'b', '1', ''),
  fc.integer({ min: -3, max: 3 }),
  fc.boolean(),
  fc.constant(null),
);
const fieldName = fc.constantFrom('x', 'y', '__proto__', 'constructor');
/** Data drawn from the same small alphabet as the filters, so that they often match. */
const data: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    scalar,
    fc.array(scalar, { maxLength: 2 }),
    fc.dictionary(fieldName, tie('value'), { maxKeys: 3 }),
  ),
})).value;
const event = fc.record({ type: fc.constantFrom('a', 'b'), data });

/** Conditions on a value, small enough to stay inside every bound. */
const condition: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  cond: fc.oneof(
    { maxDepth: 1, depthIdentifier: 'cond' },
    scalar,
    fc.record({ $eq: scalar }),
    fc.record({ $neq: scalar }),
    fc.record({ $in: fc.array(scalar, { minLength: 1, maxLength: 3 }) }),
    fc.record({ $exists: fc.boolean() }),
    fc.record({ $gte: fc.integer({ min: -3, max: 3 }) }),
    fc.record({ $lt: fc.integer({ min: -3, max: 3 }) }),
    fc.dictionary(fieldName, tie('cond'), { minKeys: 1, maxKeys: 2 }),
    fc.record({ $not: fc.record({ x: tie('cond') }) }),
    fc.record({ $or: fc.array(fc.record({ y: tie('cond') }), { minLength: 1, maxLength: 2 }) }),
  ),
})).cond;
const filter = fc.oneof(
  fc.record({ type: fc.oneof(fc.constantFrom('a', 'b'), fc.record({ $in: fc.constant(['a']) })) }),
  fc.record({ data: condition }),
  fc.record({ type: fc.constantFrom('a', 'b'), data: condition }),
);

const run = (f: unknown, e: FilterableEvent): boolean => matchesFilter(parseFilter(f), e);

describe('filter properties', () => {
  it('$not inverts any filter', () => {
    fc.assert(
      fc.property(filter, event, (f, e) => run({ $not: f }, e) === !run(f, e)),
      RUNS,
    );
  });

  it('$and and $or of one filter are that filter', () => {
    fc.assert(
      fc.property(
        filter,
        event,
        (f, e) => run({ $and: [f] }, e) === run(f, e) && run({ $or: [f] }, e) === run(f, e),
      ),
      RUNS,
    );
  });

  it('$and is both, $or is either', () => {
    fc.assert(
      fc.property(filter, filter, event, (f, g, e) => {
        expect(run({ $and: [f, g] }, e)).toBe(run(f, e) && run(g, e));
        expect(run({ $or: [f, g] }, e)).toBe(run(f, e) || run(g, e));
      }),
      RUNS,
    );
  });

  it('$neq and $nin are the negations of $eq and $in', () => {
    fc.assert(
      fc.property(scalar, fc.array(scalar, { minLength: 1, maxLength: 3 }), event, (v, list, e) => {
        expect(run({ data: { x: { $neq: v } } }, e)).toBe(!run({ data: { x: { $eq: v } } }, e));
        expect(run({ data: { x: { $nin: list } } }, e)).toBe(!run({ data: { x: { $in: list } } }, e));
      }),
      RUNS,
    );
  });

  it('parseFilter throws only FilterError, and matchesFilter never throws, on any input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (candidate, anyData) => {
        let parsed: ReturnType<typeof parseFilter> | undefined;
        try {
          parsed = parseFilter(candidate);
        } catch (error) {
          expect(error).toBeInstanceOf(FilterError);
        }
        if (parsed !== undefined)
          expect(typeof matchesFilter(parsed, { type: 'a', data: anyData })).toBe('boolean');
      }),
      RUNS,
    );
  });

  it('a generated filter always parses and always answers for generated data', () => {
    fc.assert(
      fc.property(filter, data, (f, d) => {
        expect(typeof run(f, { type: 'a', data: d })).toBe('boolean');
      }),
      RUNS,
    );
  });
});
