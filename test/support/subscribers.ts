/**
 * The endpoints an event of a type fans out to right now, read through the API: every enabled
 * one whose eventTypes hold the type or `*` (the list shows an absent filter as `["*"]`). A test
 * that fans out reads them before making its own endpoints, so that what earlier tests in its
 * file left behind is expected too, whatever order the tests run in.
 */
import type { Harness } from './harness.ts';

interface Listed {
  readonly id: string;
  readonly enabled: boolean;
  readonly eventTypes: readonly string[];
}

export async function subscribersOf(harness: Harness, type: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: Listed[]; nextCursor: string | null } } = await harness.api(
      'GET',
      `/endpoints?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    for (const endpoint of page.body.items) {
      if (endpoint.enabled && (endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(type))) {
        ids.push(endpoint.id);
      }
    }
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids;
}
