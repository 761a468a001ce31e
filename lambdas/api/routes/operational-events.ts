/**
 * `GET /operational-events` (admin keys only): the operational events the delivery worker
 * recorded before publishing them (lambdas/adapters/store/operational-events.ts), newest first,
 * paged, for the CLI (`webhooks operational-events`), the dashboard's list and anyone without
 * access to the bus. `since` defaults to a week back and reaches at most as far as the records
 * are kept.
 */
import { OPERATIONAL_EVENTS_MAX_DAYS } from '../../adapters/store/operational-events.ts';
import { DEFAULT_PAGE_SIZE } from '../../core/config.ts';
import { badRequest, HttpError } from '../../core/errors.ts';
import { listOperationalEventsSchema, parseOrThrow } from '../../core/validation.ts';
import type { ApiContext } from '../context.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';

/** How far back a listing looks when `since` is not given. */
export const OPERATIONAL_EVENTS_DEFAULT_DAYS = 7;

const DAY_MS = 86_400_000;
const KEY_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#oev_[0-9A-Za-z]+$/;

export function operationalEventRoutes(ctx: ApiContext): Route[] {
  return [route('GET', '/operational-events', (r) => listOperationalEvents(ctx, r))];
}

async function listOperationalEvents(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const log = ctx.deps.operationalEventLog;
  if (!log) throw new HttpError(501, 'not_supported', 'operational events are not recorded here');
  const query = parseOrThrow(listOperationalEventsSchema, request.query, 'invalid_query');
  const now = ctx.now();
  const oldest = now - OPERATIONAL_EVENTS_MAX_DAYS * DAY_MS;
  const sinceMs = query.since ?? now - OPERATIONAL_EVENTS_DEFAULT_DAYS * DAY_MS;
  if (sinceMs < oldest) {
    throw badRequest(
      'invalid_query',
      `since: operational events are kept ${OPERATIONAL_EVENTS_MAX_DAYS} days; give a time after ${new Date(oldest).toISOString()}`,
    );
  }
  const beforeKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const page = await log.listOperationalEvents({
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    sinceMs,
    nowMs: now,
    ...(beforeKey ? { beforeKey } : {}),
    ...(query.type ? { detailType: query.type } : {}),
  });
  return {
    status: 200,
    body: { items: page.items, nextCursor: page.nextKey ? encodeCursor(page.nextKey) : null },
  };
}

const encodeCursor = (key: string): string => Buffer.from(key).toString('base64url');

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!KEY_PATTERN.test(key)) throw badRequest('invalid_cursor', 'cursor is not one this API issued');
  return key;
}
