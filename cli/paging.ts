/**
 * Reading a listing a page at a time until the caller's limit: what `deliveries list` and
 * `operational-events` share.
 */
import type { ApiClient } from './api-client.ts';

/** The largest page the API hands out. */
export const API_PAGE_LIMIT = 100;

/** The items of `GET path?query`, pages followed until `limit` items; `cursor` when more exist. */
export async function listUpTo<T>(
  api: Pick<ApiClient, 'request'>,
  path: string,
  query: Record<string, string | undefined>,
  limit: number,
): Promise<{ items: T[]; cursor: string | undefined }> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const { body } = await api.request<{ items: T[]; nextCursor: string | null }>('GET', path, {
      query: { ...query, limit: Math.min(API_PAGE_LIMIT, limit - items.length), cursor },
    });
    items.push(...body.items);
    cursor = body.nextCursor ?? undefined;
  } while (cursor && items.length < limit);
  return { items, cursor };
}
