/**
 * Payload filters (lambdas/core/filter.ts): the exact 400 each refusal gives (its path and
 * reason are the API's answer), depth counted through arrays as through objects, what counts as
 * missing, the comparisons at their bounds, and exact equality of arrays and objects against data
 * shaped to fool a loose check. Written to kill the module's Stryker mutants
 * (docs/mutation-testing.md); test/unit/filter.test.ts has the language's reference cases.
 */
import { describe, expect, it } from 'vitest';
import { FilterError, matchesFilter, parseFilter } from '../../lambdas/core/filter.ts';

/** The error parseFilter throws for `filter`. */
function refusal(filter: unknown): FilterError {
  try {
    parseFilter(filter);
  } catch (error) {
    if (error instanceof FilterError) return error;
    throw error;
  }
  throw new Error('parseFilter accepted the filter');
}

const matches = (filter: unknown, data: unknown, type = 'order.created') =>
  matchesFilter(parseFilter(filter), { type, data });

describe('what parseFilter says when it refuses', () => {
  it.each([
    ['a filter that is not an object', [], 'filter: must be an object, e.g. {"type": "invoice.paid"}'],
    [
      'a field of the event other than type and data',
      { id: 'x' },
      'filter at id: an event has only the fields "type" and "data"',
    ],
    [
      'an empty object below the top',
      { data: {} },
      'filter at data: an empty object has no condition; use {"$exists": true} or {"$eq": {}}',
    ],
    [
      'an empty filter inside $or at the top',
      { $or: [{}] },
      'filter at $or[0]: an empty object has no condition; use {"$exists": true} or {"$eq": {}}',
    ],
    [
      'an empty filter under $not at the top',
      { $not: {} },
      'filter at $not: an empty object has no condition; use {"$exists": true} or {"$eq": {}}',
    ],
    [
      'an unknown operator, even with a number',
      { data: { n: { $foo: 1 } } },
      'filter at data.n.$foo: unknown operator; the operators are $eq, $neq, $in, $nin, $exists, $gt, $gte, $lt, $lte, $and, $or, $not',
    ],
    [
      'a value operator on the event itself',
      { $eq: 1 },
      'filter at $eq: $eq applies to a field; put it under "type" or "data"',
    ],
    ['$in without a list', { type: { $in: 'a' } }, 'filter at type.$in: $in takes a list of values'],
    ['$nin with an empty list', { type: { $nin: [] } }, 'filter at type.$nin: $nin takes at least one value'],
    [
      '$in over its length',
      { type: { $in: Array.from({ length: 101 }, (_, i) => i) } },
      'filter at type.$in: $in takes at most 100 values',
    ],
    [
      '$exists with a string',
      { data: { $exists: 'yes' } },
      'filter at data.$exists: $exists takes true or false',
    ],
    ['$not with a list', { data: { $not: [] } }, 'filter at data.$not: $not takes a filter (an object)'],
    ['$and with an empty list', { $and: [] }, 'filter at $and: $and takes a non-empty list of filters'],
    [
      '$or with a string',
      { data: { $or: 'x' } },
      'filter at data.$or: $or takes a non-empty list of filters',
    ],
    [
      '$or with a value in its list',
      { $or: [{ type: 'a' }, 3] },
      'filter at $or[1]: $or takes filters (objects)',
    ],
    ['a number that is not finite', { data: { n: Number.NaN } }, 'filter at data.n: numbers must be finite'],
    ['a function', { data: { n: () => 1 } }, 'filter at data.n: a function is not JSON'],
    ['undefined', { data: { n: undefined } }, 'filter at data.n: a undefined is not JSON'],
    [
      'an object that is not plain',
      { data: { when: new Date(0) } },
      'filter at data.when: only plain objects are JSON',
    ],
    [
      'a name in brackets',
      { data: { 'a.b': { $gt: 'x' } } },
      'filter at data["a.b"].$gt: $gt takes a number',
    ],
  ])('%s', (_what, filter, message) => {
    // Act
    const error = refusal(filter);

    // Assess
    expect(error.message).toBe(message);
    expect(error.name).toBe('FilterError');
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_filter');
  });

  it('names a getter in the filter as not a plain value', () => {
    // Prepare
    const filter = { data: {} };
    Object.defineProperty(filter.data, 'n', { get: () => 1, enumerable: true });

    // Act / Assess
    expect(refusal(filter).message).toBe('filter at data.n: is not a plain value');
  });

  it('counts every value and names the one over the limit', () => {
    // Prepare: the filter object, data, and 199 fields: 201 values
    const fields = Object.fromEntries(Array.from({ length: 199 }, (_, i) => [`f${i}`, i]));

    // Act / Assess
    expect(refusal({ data: fields }).message).toBe('filter at data.f198: has more than 200 values in all');
  });

  it('gives the size of a filter over the byte limit', () => {
    // Prepare
    const filter = { data: { note: 'x'.repeat(4100) } };

    // Act / Assess
    expect(refusal(filter).message).toBe(
      `filter: is ${JSON.stringify(filter).length} bytes as JSON, more than the 4096 allowed`,
    );
  });

  it('counts depth through arrays as through objects', () => {
    // Prepare: the filter, data and $eq are three levels; each array one more
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i += 1) value = [value];
      return { data: { $eq: value } };
    };

    // Act / Assess
    expect(() => parseFilter(nested(6))).not.toThrow();
    expect(refusal(nested(7)).message).toBe(
      'filter at data.$eq[0][0][0][0][0][0]: nests deeper than 8 levels of objects and arrays',
    );
  });

  it('takes an object without a prototype as plain', () => {
    // Prepare
    const data = Object.create(null) as Record<string, unknown>;
    data.n = 1;

    // Act / Assess
    expect(matches({ data }, { n: 1 })).toBe(true);
  });
});

describe('the empty filter', () => {
  it('at the top matches every event', () => {
    expect(matches({}, undefined)).toBe(true);
    expect(matches({}, { n: 1 })).toBe(true);
  });
});

describe('missing data', () => {
  it('an event without data has its data missing, not null', () => {
    expect(matches({ data: { $exists: false } }, undefined)).toBe(true);
    expect(matches({ data: { $exists: true } }, undefined)).toBe(false);
    expect(matches({ data: null }, undefined)).toBe(false);
    expect(matches({ data: { $neq: null } }, undefined)).toBe(true);
    expect(matches({ data: null }, null)).toBe(true);
  });

  it('a field under a string, an array or null is missing (their own properties are not fields)', () => {
    expect(matches({ data: { name: { length: 3 } } }, { name: 'abc' })).toBe(false);
    expect(matches({ data: { items: { '0': 5 } } }, { items: [5] })).toBe(false);
    expect(matches({ data: { items: { length: { $exists: false } } } }, { items: [5] })).toBe(true);
    expect(matches({ data: { a: { b: { $exists: false } } } }, { a: null })).toBe(true);
    expect(matches({ data: { a: { b: { $exists: true } } } }, { a: null })).toBe(false);
  });

  it('a property holding undefined is missing, as in the JSON of the data (which leaves it out)', () => {
    expect(matches({ data: { a: { $exists: false } } }, { a: undefined })).toBe(true);
    expect(matches({ data: { a: { $exists: true } } }, { a: undefined })).toBe(false);
    expect(matches({ data: { a: { $neq: null } } }, { a: undefined })).toBe(true);
  });
});

describe('comparisons at their bounds', () => {
  it.each([
    ['$gt', [false, false, true]],
    ['$gte', [false, true, true]],
    ['$lt', [true, false, false]],
    ['$lte', [true, true, false]],
  ])('%s 10 for 9, 10 and 11', (op, expected) => {
    expect([9, 10, 11].map((n) => matches({ data: { n: { [op]: 10 } } }, { n }))).toEqual(expected);
  });
});

describe('exact equality', () => {
  it('an object is not equal to a primitive, an array or null', () => {
    for (const value of [5, 'x', null, [], [1]]) {
      expect(matches({ data: { a: { $eq: { '0': 1 } } } }, { a: value })).toBe(false);
      expect(matches({ data: { a: { $eq: {} } } }, { a: value })).toBe(false);
    }
    expect(matches({ data: { a: { $eq: {} } } }, { a: {} })).toBe(true);
  });

  it('an array equals only an array of the same length with every element equal in order', () => {
    expect(matches({ data: { a: [1, 2] } }, { a: [1, 2] })).toBe(true);
    expect(matches({ data: { a: [1] } }, { a: [1, 2] })).toBe(false);
    expect(matches({ data: { a: [1, 2] } }, { a: [1] })).toBe(false);
    expect(matches({ data: { a: [1, 2] } }, { a: [1, 3] })).toBe(false);
    expect(matches({ data: { a: [1, 2] } }, { a: [2, 1] })).toBe(false);
    expect(matches({ data: { a: ['x'] } }, { a: { length: 1, '0': 'x' } })).toBe(false);
  });

  it('an object equals only an object with the same own keys, every value equal', () => {
    expect(matches({ data: { a: { $eq: { x: 1, y: 2 } } } }, { a: { x: 1, y: 2 } })).toBe(true);
    expect(matches({ data: { a: { $eq: { x: 1, y: 2 } } } }, { a: { x: 1, y: 3 } })).toBe(false);
    expect(matches({ data: { a: { $eq: { x: 1, y: 2 } } } }, { a: { y: 2, x: 0 } })).toBe(false);
    expect(matches({ data: { a: { $eq: { x: 1 } } } }, { a: { x: 1, y: 2 } })).toBe(false);
    expect(matches({ data: { a: { $eq: { x: 1, y: 2 } } } }, { a: { x: 1 } })).toBe(false);
  });

  it("counts the data object's own keys only, not inherited ones", () => {
    // Prepare
    const value = Object.create({ inherited: 1 }) as Record<string, unknown>;
    value.x = 1;

    // Act / Assess
    expect(matches({ data: { a: { $eq: { x: 1 } } } }, { a: value })).toBe(true);
  });

  it("counts the data object's enumerable keys only, as its JSON has them", () => {
    // Prepare: `y` is an own property, but not one of the object's keys
    const value: Record<string, unknown> = { x: 1 };
    Object.defineProperty(value, 'y', { value: 2, enumerable: false });

    // Act / Assess
    expect(matches({ data: { a: { $eq: { x: 1, y: 2 } } } }, { a: value })).toBe(false);
    expect(matches({ data: { a: { $eq: { x: 1 } } } }, { a: value })).toBe(true);
  });

  it("stops reading the data object's keys at the first one more than the operand has", () => {
    // Prepare: data objects of 3 and of 1000 keys that count how often a property is read
    const counted = (size: number) => {
      const target = Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, i]));
      const reads = { count: 0 };
      const data = new Proxy(target, {
        getOwnPropertyDescriptor(object, key) {
          reads.count += 1;
          return Reflect.getOwnPropertyDescriptor(object, key);
        },
      });
      return { data, reads };
    };
    const small = counted(3);
    const large = counted(1000);
    const filter = parseFilter({ data: { $eq: { k0: 0 } } });

    // Act
    const results = [small, large].map(({ data }) => matchesFilter(filter, { type: 't', data }));

    // Assess: no match either way, and the large object costs no more reads than the small one
    expect(results).toEqual([false, false]);
    expect(large.reads.count).toBe(small.reads.count);
  });
});
