/**
 * The operator dashboard served at `GET /dashboard`: it talks to the API of the origin it was
 * served from with the key the operator pastes (kept in this tab's sessionStorage), one tenant
 * at a time (`default` first), and opens the consumer portal as that tenant; or, across every
 * tenant, the failed or the dead deliveries (the API's cross-tenant failure view).
 *
 * Everything the API returns, and above all what receivers answered, goes on the page as text
 * (see shared/dom.ts); the page's policy forbids HTML sinks outright.
 */
import {
  type OperationalEventView,
  summariseOperationalEvent,
} from '../../../core/operational-event-summary.ts';
import { ApiClient, ApiError, apiBase, query, seg } from '../shared/api.ts';
import { DeliveryView } from '../shared/deliveries.ts';
import { byId, fieldValue, h } from '../shared/dom.ts';
import { EndpointForm, optionsCell } from '../shared/endpoint-form.ts';
import { badge, time } from '../shared/format.ts';
import { clearError, notify, showError } from '../shared/messages.ts';
import type {
  Backlog,
  DeadLetterDepth,
  Endpoint,
  EndpointDetail,
  Page,
  PortalLink,
  RedriveResult,
  Tenant,
} from '../shared/types.ts';

const KEY_STORAGE = 'webhooks.dashboard.apiKey';
const PAGE_SIZE = 25;
/** Ten pages of 100 is far more than a dashboard lists; the CLI pages through the rest. */
const MAX_LIST_PAGES = 10;

const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  endpoints: [] as Endpoint[],
  backlogs: new Map<string, Backlog | undefined>(),
  tenants: [] as Tenant[],
  dlqTimer: undefined as number | undefined,
};

const api = new ApiClient(apiBase('dashboard'), () => state.key);

/** The tenant whose endpoints and deliveries the page lists (the API's own default: `default`). */
const DEFAULT_TENANT = 'default';
const tenantFilter = (): string => fieldValue('filter-tenant') || DEFAULT_TENANT;
/** The tenant select's value for the failure view across tenants (no tenant id has a `*`). */
const ALL_TENANTS = '*';
const allTenants = (): boolean => fieldValue('filter-tenant') === ALL_TENANTS;
/** The statuses the cross-tenant failure view lists. */
const FAILURE_STATUSES = ['failed', 'dead'];

/**
 * Shows what one tenant's view has (endpoints, the endpoint filter, the portal) or, across
 * tenants, hides it, names each delivery's tenant and offers only `failed` and `dead`.
 */
function applyTenantMode(): void {
  const all = allTenants();
  for (const id of ['endpoints-card', 'endpoints-stat', 'filter-endpoint-label', 'open-portal']) {
    byId(id).hidden = all;
  }
  byId('choose-tenant').hidden = !all;
  byId('deliveries-tenant-col').hidden = !all;
  const status = byId<HTMLSelectElement>('filter-status');
  for (const option of status.options) option.disabled = all && !FAILURE_STATUSES.includes(option.value);
  if (all && !FAILURE_STATUSES.includes(status.value)) status.value = 'failed';
}

/** Every page of a listing, up to {@link MAX_LIST_PAGES}. */
async function listAll<T>(path: string, params: Record<string, string> = {}): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const { body }: { body: Page<T> } = await api.get<Page<T>>(
      path + query({ ...params, limit: '100', cursor }),
    );
    items.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return items;
}

// --- session -------------------------------------------------------------------------------

function refused(context: string, error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    disconnect();
    showError('The API key was refused', error);
  } else {
    showError(context, error);
  }
}

async function connect(key: string): Promise<void> {
  state.key = key;
  clearError();
  try {
    await loadEndpoints();
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    showError(
      error instanceof ApiError && error.status === 401 ? 'The API key was refused' : 'Could not connect',
      error,
    );
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  byId('connect').hidden = true;
  byId('app').hidden = false;
  byId('session').hidden = false;
  await Promise.all([loadTenants(), loadDlq(), loadDeliveries(true), loadOperationalEvents()]).catch(
    (error: unknown) => refused('Could not load the dashboard', error),
  );
}

function disconnect(): void {
  state.key = null;
  form.close();
  form.dismissSecret();
  sessionStorage.removeItem(KEY_STORAGE);
  deliveries.stop();
  clearTimeout(state.dlqTimer);
  byId('app').hidden = true;
  byId('session').hidden = true;
  byId('connect').hidden = false;
  byId<HTMLInputElement>('api-key').value = '';
  notify('');
}

async function refreshAll(): Promise<void> {
  clearError();
  try {
    await loadEndpoints();
    await Promise.all([
      loadTenants(),
      loadDlq(),
      loadDeliveries(true),
      loadOperationalEvents(),
      deliveries.selected ? deliveries.show(deliveries.selected) : null,
    ]);
  } catch (error) {
    refused('Refresh failed', error);
  }
}

// --- tenants -------------------------------------------------------------------------------

/**
 * Lists the tenants for the tenant select, `default` first (it always exists, listed or not).
 * An API without tenant routes (404), or a key that may not list them (403), leaves `default`.
 */
async function loadTenants(): Promise<void> {
  try {
    state.tenants = await listAll<Tenant>('/tenants');
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) state.tenants = [];
    else throw error;
  }
  const tenants = [
    { id: DEFAULT_TENANT, name: null },
    ...state.tenants.filter((tenant) => tenant.id !== DEFAULT_TENANT),
  ];
  const select = byId<HTMLSelectElement>('filter-tenant');
  const current = select.value;
  select.replaceChildren(
    ...tenants.map((tenant) =>
      h('option', {
        value: tenant.id,
        text: tenant.name && tenant.name !== tenant.id ? `${tenant.name} (${tenant.id})` : tenant.id,
      }),
    ),
    h('option', { value: ALL_TENANTS, text: 'All tenants: failed and dead' }),
  );
  select.value =
    current === ALL_TENANTS || tenants.some((tenant) => tenant.id === current) ? current : DEFAULT_TENANT;
  byId('tenant-summary').textContent = `${tenants.length} tenant${tenants.length === 1 ? '' : 's'}`;
}

async function changeTenant(): Promise<void> {
  clearError();
  deliveries.close();
  form.close();
  applyTenantMode();
  try {
    await loadEndpoints();
    await loadDeliveries(true);
  } catch (error) {
    refused('Could not filter by tenant', error);
  }
}

/** Creates a portal session for the chosen tenant and opens its link in a new tab. */
async function openPortal(): Promise<void> {
  const tenantId = tenantFilter();
  clearError();
  const button = byId<HTMLButtonElement>('open-portal');
  button.disabled = true;
  try {
    const { body } = await api.post<PortalLink>(`/tenants/${seg(tenantId)}/portal-sessions`, {});
    window.open(body.url, '_blank', 'noopener,noreferrer');
    notify(`Opened the portal of ${tenantId} in a new tab; its link is valid until ${body.expiresAt}.`);
  } catch (error) {
    refused('Could not open the portal', error);
  } finally {
    button.disabled = false;
  }
}

// --- endpoints -----------------------------------------------------------------------------

async function loadEndpoints(): Promise<void> {
  if (allTenants()) {
    // Endpoints are one tenant's: across tenants the page lists none (and says so).
    state.backlogs = new Map();
    state.endpoints = [];
    renderEndpoints();
    return;
  }
  const tenantId = tenantFilter();
  const endpoints = await listAll<Endpoint>('/endpoints', { tenantId });
  // Backlogs (deliveries held while a circuit is open or over a rate limit) are counted per
  // endpoint, so only the endpoints that have one are asked.
  const backlogged = endpoints.filter((endpoint) => endpoint.hasBacklog).slice(0, 50);
  const details = await Promise.all(
    backlogged.map((endpoint) => api.get<EndpointDetail>(`/endpoints/${seg(endpoint.id)}`)),
  );
  state.backlogs = new Map(details.map(({ body }) => [body.id, body.backlog]));
  state.endpoints = endpoints;
  renderEndpoints();
}

function backlogCell(endpoint: Endpoint): HTMLElement {
  const backlog = state.backlogs.get(endpoint.id);
  if (!backlog || backlog.size === 0) return h('span', { class: 'muted', text: '—' });
  const size = `${backlog.size}${backlog.complete ? '' : '+'} held`;
  const oldest = backlog.oldestAt ? `, oldest ${new Date(backlog.oldestAt).toLocaleString()}` : '';
  return h('span', { text: size + (backlog.reason ? ` (${backlog.reason})` : '') + oldest });
}

function endpointLabel(id: string): string {
  return state.endpoints.find((candidate) => candidate.id === id)?.url ?? id;
}

function renderEndpoints(): void {
  const total = state.endpoints.length;
  const enabled = state.endpoints.filter((endpoint) => endpoint.enabled).length;
  byId('endpoint-count').textContent = String(total);
  byId('endpoint-summary').textContent =
    total === 0 ? 'none yet' : `${enabled} enabled, ${total - enabled} disabled`;
  const rows = state.endpoints.map((endpoint) =>
    h(
      'tr',
      { 'data-endpoint-id': endpoint.id },
      h('td', { class: 'url mono', text: endpoint.url }),
      optionsCell(endpoint),
      h('td', {}, badge(endpoint.enabled ? 'enabled' : 'disabled')),
      h('td', { class: 'num', text: String(endpoint.failureStreak) }),
      h('td', { class: 'backlog' }, backlogCell(endpoint)),
      h('td', {}, endpoint.disabledReason || h('span', { class: 'muted', text: '—' })),
      h('td', { class: 'mono muted', text: endpoint.id }),
      h(
        'td',
        { class: 'actions' },
        h('button', {
          type: 'button',
          class: 'small',
          'aria-label': `Edit: ${endpoint.url}`,
          text: 'Edit',
          onclick: () => form.open(endpoint),
        }),
      ),
    ),
  );
  byId('endpoints-body').replaceChildren(...rows);
  byId('endpoints-empty').hidden = rows.length > 0;

  const select = byId<HTMLSelectElement>('filter-endpoint');
  const current = select.value;
  select.replaceChildren(
    h('option', { value: '', text: 'All endpoints' }),
    ...state.endpoints.map((endpoint) => h('option', { value: endpoint.id, text: endpoint.url })),
  );
  select.value = state.endpoints.some((endpoint) => endpoint.id === current) ? current : '';
}

/** Adds endpoints to the chosen tenant, and edits them (headers and filter among the rest). */
const form = new EndpointForm({
  api,
  fail: refused,
  createFields: () => ({ tenantId: tenantFilter() }),
  saved: () => loadEndpoints(),
});

// --- operational events ------------------------------------------------------------------

/** How many of the latest operational events the panel shows (the CLI pages through the rest). */
const OPERATIONAL_EVENTS_SHOWN = 20;

/** The latest operational events, every tenant's: the endpoint column names each by its URL when listed. */
async function loadOperationalEvents(): Promise<void> {
  const empty = byId('operational-events-empty');
  let body: Page<OperationalEventView>;
  try {
    ({ body } = await api.get<Page<OperationalEventView>>(
      `/operational-events${query({ limit: String(OPERATIONAL_EVENTS_SHOWN) })}`,
    ));
  } catch (error) {
    // The rest of the page stands without this panel (an API from before the records, say).
    byId('operational-events-body').replaceChildren();
    empty.textContent = `Operational events could not be listed: ${error instanceof Error ? error.message : String(error)}`;
    empty.hidden = false;
    return;
  }
  const rows = body.items.map((event) => {
    const endpointId = typeof event.detail.endpointId === 'string' ? event.detail.endpointId : undefined;
    const tenantId = typeof event.detail.tenantId === 'string' ? event.detail.tenantId : '—';
    return h(
      'tr',
      {},
      h('td', {}, time(event.occurredAt)),
      h('td', {}, h('span', { class: 'mono', text: event.detailType })),
      h(
        'td',
        {},
        endpointId ? h('span', { class: 'mono', title: endpointId, text: endpointLabel(endpointId) }) : '—',
      ),
      h('td', { text: tenantId }),
      h('td', { text: summariseOperationalEvent(event) }),
    );
  });
  byId('operational-events-body').replaceChildren(...rows);
  empty.textContent = 'No operational events in the last 7 days.';
  empty.hidden = rows.length > 0;
}

// --- dead-letter queue ---------------------------------------------------------------------

async function loadDlq(): Promise<DeadLetterDepth> {
  const { body } = await api.get<DeadLetterDepth>('/dlq');
  const count = byId('dlq-count');
  count.textContent = String(body.visible);
  count.classList.toggle('alarm', body.visible > 0);
  byId('dlq-inflight').textContent = body.inFlight > 0 ? `${body.inFlight} in flight` : 'messages waiting';
  byId<HTMLButtonElement>('redrive').disabled = body.visible === 0;
  return body;
}

async function redrive(): Promise<void> {
  clearError();
  const button = byId<HTMLButtonElement>('redrive');
  button.disabled = true;
  try {
    const { body } = await api.post<RedriveResult>('/dlq/redrive');
    if (body.mode === 'move-task') {
      notify(
        `SQS started a message move task (${body.taskHandle}): dead-lettered messages return to the delivery queue over the next minutes.`,
      );
    } else {
      const moved = body.moved ?? 0;
      notify(`Moved ${moved} message${moved === 1 ? '' : 's'} back to the delivery queue.`);
    }
    watchDlq(20);
  } catch (error) {
    refused('Redrive failed', error);
    button.disabled = false;
  }
}

/** Re-reads the DLQ depth and the deliveries a few times while redriven messages are delivered. */
function watchDlq(times: number): void {
  clearTimeout(state.dlqTimer);
  const tick = async (left: number): Promise<void> => {
    try {
      await loadDlq();
      if (left % 3 === 0) await loadDeliveries(true);
    } catch (error) {
      refused('Could not refresh the dead-letter queue', error);
      return;
    }
    if (left > 0) state.dlqTimer = window.setTimeout(() => tick(left - 1), 1500);
  };
  void tick(times);
}

// --- deliveries ----------------------------------------------------------------------------

const deliveries = new DeliveryView({
  api,
  endpointLabel,
  listQuery: (cursor) =>
    allTenants()
      ? // The cross-tenant failure view: a failure status, and neither tenant nor endpoint.
        query({
          limit: String(PAGE_SIZE),
          status: fieldValue('filter-status'),
          type: fieldValue('filter-type'),
          cursor,
        })
      : query({
          limit: String(PAGE_SIZE),
          tenantId: tenantFilter(),
          endpointId: fieldValue('filter-endpoint'),
          status: fieldValue('filter-status'),
          type: fieldValue('filter-type'),
          cursor,
        }),
  fail: refused,
  showTenant: allTenants,
  onSettled: () => {
    loadDlq().catch((error: unknown) => refused('Could not refresh the dead-letter queue', error));
  },
});

const loadDeliveries = (reset: boolean): Promise<void> => deliveries.load(reset);

// --- wiring --------------------------------------------------------------------------------

byId('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = fieldValue('api-key');
  if (key) void connect(key);
});
byId('disconnect').addEventListener('click', disconnect);
byId('refresh').addEventListener('click', () => void refreshAll());
byId('redrive').addEventListener('click', () => void redrive());
byId('filter-tenant').addEventListener('change', () => void changeTenant());
byId('tenant-form').addEventListener('submit', (event) => event.preventDefault());
byId('open-portal').addEventListener('click', () => void openPortal());
byId('add-endpoint').addEventListener('click', () => form.open(null));
byId('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  clearError();
  loadDeliveries(true).catch((error: unknown) => refused('Could not list deliveries', error));
});

if (state.key) void connect(state.key);
