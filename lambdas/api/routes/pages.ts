/** Pagination helpers shared by the listing routes. */
import type { Page } from '../../adapters/store.ts';
import { badRequest } from '../../core/errors.ts';
import { parseDeliveryId } from '../../core/ids.ts';

export function pageBody<T, V>(page: Page<T>, view: (item: T) => V) {
  return { items: page.items.map(view), nextCursor: page.nextCursor ?? null };
}

/** List cursors carry the last delivery id returned: the next page starts below it. */
export const encodeListCursor = (id: string): string => Buffer.from(id).toString('base64url');

export function decodeListCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!parseDeliveryId(id)) throw badRequest('invalid_cursor', 'cursor is not one this API issued');
  return id;
}
