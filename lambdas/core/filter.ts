/**
 * Payload filters: a small JSON language that decides whether an event (`{type, data}`) goes to
 * an endpoint. docs/filters.md is its reference; in short:
 *
 * - A filter is an object. Its keys are field names (at the top `type` and `data`, below them
 *   any name not starting with `$`) or operators; every key must hold (an implicit AND).
 * - Under a field, a string, number, boolean, null or array means "equals exactly" (same JSON
 *   type, arrays element by element in order); an object means conditions on that field's value
 *   (its own fields, operators, or both).
 * - Operators: `$eq`, `$neq` (exact equality, objects compared whole), `$in`, `$nin` (equals one
 *   of / none of a list), `$exists` (boolean), `$gt`, `$gte`, `$lt`, `$lte` (numbers only: `"5"`
 *   is never compared with `5`), `$and`, `$or` (non-empty lists of filters), `$not` (a filter).
 * - A field that is absent (or under something that is not an object) is missing: `$exists:
 *   false`, `$neq` and `$nin` hold for it, nothing else does. So `$not` is always the exact
 *   inverse of its filter.
 *
 * {@link parseFilter} validates and compiles (its error is the API's 400 when a filter is set;
 * the stored JSON is parsed again before it is evaluated). {@link matchesFilter} never throws and
 * does a bounded amount of work per filter node: it descends only as deep as the filter's own
 * paths, compares arrays' lengths before their elements (only an exact object comparison lists
 * the data object's keys, see {@link hasOwnKeyCount}), and reads own properties only (a
 * `__proto__` or `constructor` key in the data is an ordinary field, never the prototype).
 */
import { HttpError } from './errors.ts';

/** Nesting of objects and arrays in a filter, the filter object itself being level 1. */
export const MAX_FILTER_DEPTH = 8;
/** JSON values in a filter (every object, array, string, number, boolean and null counts one). */
export const MAX_FILTER_NODES = 200;
/** Entries in one `$in` or `$nin` list. */
export const MAX_FILTER_IN_LENGTH = 100;
/** The filter's size as compact JSON, in UTF-8 bytes. */
export const MAX_FILTER_BYTES = 4096;

/** What {@link parseFilter} refuses: `path` names the fault (`data.amount.$gte`, `$or[1]`). */
export class FilterError extends HttpError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(400, 'invalid_filter', `filter${path === '' ? '' : ` at ${path}`}: ${reason}`);
    this.name = 'FilterError';
  }
}

/** A JSON value as a filter holds it. */
export type FilterJson = null | boolean | number | string | readonly FilterJson[] | FilterJsonObject;
/** A JSON object as a filter holds it. */
export interface FilterJsonObject {
  readonly [key: string]: FilterJson;
}

type Comparison = '$gt' | '$gte' | '$lt' | '$lte';

/** One compiled condition on a value (the event itself at the top). */
type Condition =
  | { readonly kind: 'eq'; readonly value: FilterJson }
  | { readonly kind: 'in'; readonly values: readonly FilterJson[] }
  | { readonly kind: 'exists'; readonly exists: boolean }
  | { readonly kind: 'compare'; readonly op: Comparison; readonly bound: number }
  | { readonly kind: 'field'; readonly name: string; readonly condition: Condition }
  | { readonly kind: 'and'; readonly all: readonly Condition[] }
  | { readonly kind: 'or'; readonly any: readonly Condition[] }
  | { readonly kind: 'not'; readonly condition: Condition };

/** A validated, compiled filter. `source` is a copy of the JSON it was parsed from (store that). */
export interface Filter {
  readonly source: FilterJsonObject;
  readonly root: Condition;
}

/** The event a filter looks at. */
export interface FilterableEvent {
  readonly type: string;
  readonly data: unknown;
}

const EVENT_FIELDS = new Set(['type', 'data']);
const VALUE_OPERATORS = new Set(['$eq', '$neq', '$in', '$nin', '$exists', '$gt', '$gte', '$lt', '$lte']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$not']);

/** Marks a missing field: distinct from every JSON value, `null` included. */
const MISSING: unique symbol = Symbol('missing');
type Value = unknown;

/**
 * Validates `value` as a filter and compiles it.
 *
 * @throws {FilterError} (an {@link HttpError} 400 `invalid_filter`) naming the path of the first
 * fault: not JSON, an unknown operator, a wrong operand, or over a bound (`MAX_FILTER_*`).
 */
export function parseFilter(value: unknown): Filter {
  const counter = { nodes: 0 };
  const source = copyJson(value, '', 1, counter);
  if (!isObject(source)) throw new FilterError('', 'must be an object, e.g. {"type": "invoice.paid"}');
  const bytes = new TextEncoder().encode(JSON.stringify(source)).length;
  if (bytes > MAX_FILTER_BYTES) {
    throw new FilterError('', `is ${bytes} bytes as JSON, more than the ${MAX_FILTER_BYTES} allowed`);
  }
  return { source, root: compileObject(source, '', true) };
}

/**
 * Whether `event` passes `filter`. Never throws: data that cannot be read as JSON (impossible for
 * a parsed request body) counts as no match.
 */
export function matchesFilter(filter: Filter, event: FilterableEvent): boolean {
  try {
    return holds(filter.root, { type: event.type, data: event.data === undefined ? MISSING : event.data });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation: a bounded copy of the input as plain JSON.

function copyJson(value: unknown, path: string, depth: number, counter: { nodes: number }): FilterJson {
  counter.nodes += 1;
  if (counter.nodes > MAX_FILTER_NODES) {
    throw new FilterError(path, `has more than ${MAX_FILTER_NODES} values in all`);
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new FilterError(path, 'numbers must be finite');
    return value;
  }
  if (typeof value !== 'object') throw new FilterError(path, `a ${typeof value} is not JSON`);
  if (depth > MAX_FILTER_DEPTH) {
    throw new FilterError(path, `nests deeper than ${MAX_FILTER_DEPTH} levels of objects and arrays`);
  }
  if (Array.isArray(value)) {
    const copy: FilterJson[] = [];
    for (let i = 0; i < value.length; i += 1) {
      copy.push(copyJson(value[i], `${path}[${i}]`, depth + 1, counter));
    }
    return Object.freeze(copy);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    throw new FilterError(path, 'only plain objects are JSON');
  const copy: Record<string, FilterJson> = {};
  for (const key of Object.keys(value)) {
    const entry = Object.getOwnPropertyDescriptor(value, key);
    if (entry === undefined || !('value' in entry))
      throw new FilterError(join(path, key), 'is not a plain value');
    // defineProperty, not assignment: a "__proto__" key stays an ordinary own key.
    Object.defineProperty(copy, key, {
      value: copyJson(entry.value, join(path, key), depth + 1, counter),
      enumerable: true,
    });
  }
  return Object.freeze(copy);
}

// ---------------------------------------------------------------------------------------------
// Compilation of validated JSON into conditions.

/** An object of conditions: at the top (`event`) its fields can only be the event's own. */
function compileObject(object: FilterJsonObject, path: string, event: boolean): Condition {
  const keys = Object.keys(object);
  if (keys.length === 0) {
    if (event && path === '') return { kind: 'and', all: [] };
    throw new FilterError(path, 'an empty object has no condition; use {"$exists": true} or {"$eq": {}}');
  }
  const all: Condition[] = [];
  for (const key of keys) {
    const operand = own(object, key) as FilterJson;
    const at = join(path, key);
    if (key.startsWith('$')) {
      all.push(compileOperator(key, operand, at, event));
    } else if (event && !EVENT_FIELDS.has(key)) {
      throw new FilterError(at, 'an event has only the fields "type" and "data"');
    } else {
      all.push({ kind: 'field', name: key, condition: compileValue(operand, at) });
    }
  }
  return all.length === 1 ? all[0]! : { kind: 'and', all };
}

/** What sits under a field: an object of conditions, or a value it must equal exactly. */
function compileValue(operand: FilterJson, path: string): Condition {
  return isObject(operand) ? compileObject(operand, path, false) : { kind: 'eq', value: operand };
}

function compileOperator(key: string, operand: FilterJson, path: string, event: boolean): Condition {
  if (LOGICAL_OPERATORS.has(key)) return compileLogical(key, operand, path, event);
  if (!VALUE_OPERATORS.has(key)) {
    throw new FilterError(
      path,
      `unknown operator; the operators are ${[...VALUE_OPERATORS, ...LOGICAL_OPERATORS].join(', ')}`,
    );
  }
  if (event) throw new FilterError(path, `${key} applies to a field; put it under "type" or "data"`);
  switch (key) {
    case '$eq':
      return { kind: 'eq', value: operand };
    case '$neq':
      return { kind: 'not', condition: { kind: 'eq', value: operand } };
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) throw new FilterError(path, `${key} takes a list of values`);
      if (operand.length === 0) throw new FilterError(path, `${key} takes at least one value`);
      if (operand.length > MAX_FILTER_IN_LENGTH) {
        throw new FilterError(path, `${key} takes at most ${MAX_FILTER_IN_LENGTH} values`);
      }
      const list: Condition = { kind: 'in', values: operand as readonly FilterJson[] };
      return key === '$in' ? list : { kind: 'not', condition: list };
    }
    case '$exists':
      if (typeof operand !== 'boolean') throw new FilterError(path, '$exists takes true or false');
      return { kind: 'exists', exists: operand };
    default:
      if (typeof operand !== 'number') throw new FilterError(path, `${key} takes a number`);
      return { kind: 'compare', op: key as Comparison, bound: operand };
  }
}

function compileLogical(key: string, operand: FilterJson, path: string, event: boolean): Condition {
  if (key === '$not') {
    if (!isObject(operand)) throw new FilterError(path, '$not takes a filter (an object)');
    return { kind: 'not', condition: compileObject(operand, path, event) };
  }
  if (!Array.isArray(operand) || operand.length === 0) {
    throw new FilterError(path, `${key} takes a non-empty list of filters`);
  }
  const list = (operand as readonly FilterJson[]).map((entry, i) => {
    if (!isObject(entry)) throw new FilterError(`${path}[${i}]`, `${key} takes filters (objects)`);
    return compileObject(entry, `${path}[${i}]`, event);
  });
  return key === '$and' ? { kind: 'and', all: list } : { kind: 'or', any: list };
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

function holds(condition: Condition, value: Value): boolean {
  switch (condition.kind) {
    case 'eq':
      return value !== MISSING && jsonEqual(value, condition.value);
    case 'in':
      return value !== MISSING && condition.values.some((entry) => jsonEqual(value, entry));
    case 'exists':
      return (value !== MISSING) === condition.exists;
    case 'compare':
      return typeof value === 'number' && compare(condition.op, value, condition.bound);
    case 'field':
      return holds(condition.condition, field(value, condition.name));
    case 'and':
      return condition.all.every((entry) => holds(entry, value));
    case 'or':
      return condition.any.some((entry) => holds(entry, value));
    case 'not':
      return !holds(condition.condition, value);
  }
}

function compare(op: Comparison, value: number, bound: number): boolean {
  switch (op) {
    case '$gt':
      return value > bound;
    case '$gte':
      return value >= bound;
    case '$lt':
      return value < bound;
    case '$lte':
      return value <= bound;
  }
}

/** An own data property of an object that is not an array; anything else is missing. */
function field(value: Value, name: string): Value {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return MISSING;
  const entry = Object.getOwnPropertyDescriptor(value, name);
  return entry !== undefined && 'value' in entry && entry.value !== undefined ? entry.value : MISSING;
}

/**
 * Exact JSON equality of data with a filter's operand: the same type, arrays of the same length
 * with equal elements in order, objects with the same own keys and equal values. Recursion
 * follows the operand, so it is as deep as the filter at most.
 */
function jsonEqual(value: Value, expected: FilterJson): boolean {
  if (expected === null || typeof expected !== 'object') return value === expected;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(expected)) {
    if (!Array.isArray(value) || value.length !== expected.length) return false;
    return expected.every((entry, i) => jsonEqual(own(value, String(i)), entry));
  }
  if (Array.isArray(value)) return false;
  const keys = Object.keys(expected);
  if (!hasOwnKeyCount(value, keys.length)) return false;
  return keys.every((key) => {
    const actual = field(value, key);
    return actual !== MISSING && jsonEqual(actual, own(expected, key) as FilterJson);
  });
}

/**
 * Whether `value` has exactly `count` own enumerable keys. The loop stops at the first extra key;
 * the engine still lists the object's keys to start it, the one cost here that follows the data.
 */
function hasOwnKeyCount(value: object, count: number): boolean {
  let seen = 0;
  for (const key in value) {
    if (Object.hasOwn(value, key)) {
      seen += 1;
      if (seen > count) return false;
    }
  }
  return seen === count;
}

// ---------------------------------------------------------------------------------------------

function isObject(value: FilterJson): value is FilterJsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(object: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(object, key)?.value;
}

/** `data.amount`; names that are not plain identifiers in brackets: `data["a.b"]`. */
function join(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
