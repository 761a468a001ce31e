/**
 * DynamoDB item sizes and capacity units, by the rules AWS documents
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * an item's size is the sum of its attribute names' and values' lengths; strings and binary
 * count their bytes, numbers about one byte per two significant digits plus one, booleans and
 * nulls one byte, lists and maps three bytes plus one per element plus their contents (map
 * keys included). A write costs one unit per started KB of the item (the larger of before and
 * after); a read one unit per started 4 KB, half that when eventually consistent.
 */

/** An AttributeValue as the SDK marshals it. */
export type AttributeValue = Record<string, unknown>;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Size of a number as DynamoDB stores it: leading/trailing zeros trimmed, 2 digits a byte, +1. */
export function numberSize(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.min(21, Math.ceil(Math.max(1, digits.length) / 2) + 1);
}

/** Size of one marshalled value. */
export function valueSize(value: AttributeValue): number {
  const [type, inner] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(inner as string);
    case 'N':
      return numberSize(inner as string);
    case 'B':
      return (inner as Uint8Array).byteLength;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (inner as string[]).reduce((sum, item) => sum + utf8(item), 0);
    case 'NS':
      return (inner as string[]).reduce((sum, item) => sum + numberSize(item), 0);
    case 'BS':
      return (inner as Uint8Array[]).reduce((sum, item) => sum + item.byteLength, 0);
    case 'L':
      return 3 + (inner as AttributeValue[]).reduce((sum, item) => sum + 1 + valueSize(item), 0);
    case 'M':
      return (
        3 +
        Object.entries(inner as Record<string, AttributeValue>).reduce(
          (sum, [name, item]) => sum + 1 + utf8(name) + valueSize(item),
          0,
        )
      );
    default:
      throw new Error(`unknown AttributeValue type ${type}`);
  }
}

/** Size of a marshalled item (what PutItem sends). */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/** Size of an unmarshalled (plain JavaScript) value, as the document client returns items. */
function plainValueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(String(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, item) => sum + plainValueSize(item), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, item) => sum + 1 + plainValueSize(item), 0);
  return (
    3 +
    Object.entries(value as Record<string, unknown>).reduce(
      (sum, [name, item]) => sum + 1 + utf8(name) + plainValueSize(item),
      0,
    )
  );
}

/** Size of a plain item (as GetItem or Query return it through the document client). */
export function plainItemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + plainValueSize(value), 0);
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

export const readUnits = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
