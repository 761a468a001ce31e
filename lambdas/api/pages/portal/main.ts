/**
 * The consumer portal served at `GET /portal`: one tenant's endpoints and deliveries, opened
 * from a link `<ApiUrl>/portal#token=<portal session token>` that the operator hands out.
 *
 * The token arrives in the fragment (which never reaches a server or a log), is taken out of
 * the address bar at once and kept in this tab's sessionStorage; every request carries it as
 * `Authorization: Bearer`, and the API scopes what it sees to its tenant. A link that has
 * expired or is not valid leaves a page that says so and nothing else.
 *
 * Everything the API returns, and above all what receivers answered, goes on the page as text
 * (see shared/dom.ts); the page's policy forbids HTML sinks outright.
 */
import { ApiClient, ApiError, apiBase, query, seg } from '../shared/api.ts';
import { DeliveryView } from '../shared/deliveries.ts';
import { byId, fieldValue, h } from '../shared/dom.ts';
import { allTypes, EndpointForm, optionsCell } from '../shared/endpoint-form.ts';
import { badge, localInputToIso, time } from '../shared/format.ts';
import { clearError, notify, showError } from '../shared/messages.ts';
import type { Endpoint, Page, PortalSession, RecoverResult, WithSecret } from '../shared/types.ts';

const TOKEN_STORAGE = 'webhooks.portal.token';
const PAGE_SIZE = 25;
const MAX_LIST_PAGES = 10;
/** A recovery is a loop of short calls; this many is plenty for a portal's button. */
const MAX_RECOVER_CALLS = 20;

const state = {
  token: takeToken(),
  endpoints: [] as Endpoint[],
  /** The endpoint whose Delete button waits for its confirmation. */
  confirmingDelete: null as string | null,
  expiryTimer: undefined as number | undefined,
  ended: false,
};

const api = new ApiClient(apiBase('portal'), () => state.token);

/**
 * The token: from the link's fragment (`#token=...`), which is then removed from the address
 * bar and history, or else the one this tab kept from an earlier load.
 */
function takeToken(): string | null {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  if (fromLink) {
    sessionStorage.setItem(TOKEN_STORAGE, fromLink);
    return fromLink;
  }
  return sessionStorage.getItem(TOKEN_STORAGE);
}

// --- the link's state ----------------------------------------------------------------------

/** Replaces the whole page by the news that the link has expired or is not valid. */
function endSession(kind: 'expired' | 'invalid'): void {
  state.ended = true;
  state.token = null;
  sessionStorage.removeItem(TOKEN_STORAGE);
  deliveries.stop();
  clearTimeout(state.expiryTimer);
  document.getElementById('app')?.remove();
  document.getElementById('session')?.remove();
  byId('tenant-name').textContent = 'Portal';
  const title = kind === 'expired' ? 'This link has expired' : 'This link is not valid';
  document.title = `Webhooks · ${title}`;
  byId('link-problem-title').textContent = title;
  byId('link-problem-text').textContent =
    kind === 'expired'
      ? 'Portal links are valid for a limited time. Ask for a new one.'
      : 'Open the portal with the full link you were given, or ask for a new one.';
  byId('link-problem').hidden = false;
}

/** Shows a failure; a refused token ends the session instead. */
function fail(context: string, error: unknown): void {
  if (state.ended) return;
  if (error instanceof ApiError && error.status === 401) {
    endSession(error.code === 'token_expired' ? 'expired' : 'invalid');
  } else {
    showError(context, error);
  }
}

async function start(): Promise<void> {
  if (!state.token) {
    endSession('invalid');
    return;
  }
  try {
    const { body: session } = await api.get<PortalSession>('/portal/session');
    showSession(session);
    await loadEndpoints();
    byId('app').hidden = false;
    await loadDeliveries(true);
  } catch (error) {
    fail('Could not open the portal', error);
    if (!state.ended) byId('app').hidden = false;
  }
}

function showSession(session: PortalSession): void {
  if (state.ended) return;
  byId('tenant-name').textContent = session.tenantName || session.tenantId;
  document.title = `Webhooks · ${session.tenantName || session.tenantId}`;
  const expiry = byId('session-expiry');
  expiry.replaceChildren('Link valid until ', time(session.expiresAt));
  byId('session').hidden = false;
  const left = Date.parse(session.expiresAt) - Date.now();
  clearTimeout(state.expiryTimer);
  if (Number.isFinite(left)) {
    state.expiryTimer = window.setTimeout(() => endSession('expired'), Math.max(0, left));
  }
}

async function refreshAll(): Promise<void> {
  clearError();
  try {
    showSession((await api.get<PortalSession>('/portal/session')).body);
    await loadEndpoints();
    await Promise.all([
      loadDeliveries(true),
      deliveries.selected ? deliveries.show(deliveries.selected) : null,
    ]);
  } catch (error) {
    fail('Refresh failed', error);
  }
}

// --- endpoints -----------------------------------------------------------------------------

async function loadEndpoints(): Promise<void> {
  const endpoints: Endpoint[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const { body }: { body: Page<Endpoint> } = await api.get<Page<Endpoint>>(
      `/endpoints${query({ limit: '100', cursor })}`,
    );
    endpoints.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  state.endpoints = endpoints;
  renderEndpoints();
}

const endpointOf = (id: string): Endpoint | undefined =>
  state.endpoints.find((endpoint) => endpoint.id === id);
const endpointLabel = (id: string): string => endpointOf(id)?.url ?? id;

function renderEndpoints(): void {
  const rows = state.endpoints.map((endpoint) => {
    const confirming = state.confirmingDelete === endpoint.id;
    const action = (label: string, run: () => Promise<void>, extra = '') =>
      h('button', {
        type: 'button',
        class: `small ${extra}`.trim(),
        'aria-label': `${label}: ${endpoint.url}`,
        text: label,
        onclick: () => void run(),
      });
    return h(
      'tr',
      { 'data-endpoint-id': endpoint.id },
      h(
        'td',
        { class: 'url' },
        h('div', { class: 'mono', text: endpoint.url }),
        endpoint.description ? h('div', { class: 'muted', text: endpoint.description }) : null,
      ),
      h('td', {
        class: 'types mono',
        text: allTypes(endpoint.eventTypes) ? 'all' : endpoint.eventTypes.join(', '),
      }),
      optionsCell(endpoint),
      h(
        'td',
        {},
        badge(endpoint.enabled ? 'enabled' : 'disabled'),
        endpoint.disabledReason ? h('div', { class: 'muted', text: endpoint.disabledReason }) : null,
      ),
      h(
        'td',
        { class: 'actions' },
        action('Edit', async () => form.open(endpoint)),
        action(endpoint.enabled ? 'Disable' : 'Enable', () => setEnabled(endpoint, !endpoint.enabled)),
        action('Rotate secret', () => rotateSecret(endpoint)),
        action('Send test event', () => sendTest(endpoint)),
        confirming
          ? action('Confirm delete', () => deleteEndpoint(endpoint), 'danger')
          : action('Delete', async () => askDelete(endpoint.id), 'danger'),
      ),
    );
  });
  byId('endpoints-body').replaceChildren(...rows);
  byId('endpoints-empty').hidden = rows.length > 0;

  const options = state.endpoints.map((endpoint) => h('option', { value: endpoint.id, text: endpoint.url }));
  for (const [id, first] of [
    ['filter-endpoint', 'All endpoints'],
    ['recover-endpoint', null],
  ] as const) {
    const select = byId<HTMLSelectElement>(id);
    const current = select.value;
    select.replaceChildren(
      ...(first === null ? [] : [h('option', { value: '', text: first })]),
      ...options.map((option) => option.cloneNode(true)),
    );
    if (state.endpoints.some((endpoint) => endpoint.id === current)) select.value = current;
  }
  byId<HTMLButtonElement>('recover-submit').disabled = state.endpoints.length === 0;
}

const form = new EndpointForm({ api, fail, saved: () => loadEndpoints() });

async function setEnabled(endpoint: Endpoint, enabled: boolean): Promise<void> {
  clearError();
  try {
    await api.request('PATCH', `/endpoints/${seg(endpoint.id)}`, { enabled });
    notify(`${enabled ? 'Enabled' : 'Disabled'} ${endpoint.url}.`);
    await loadEndpoints();
  } catch (error) {
    fail(`Could not ${enabled ? 'enable' : 'disable'} the endpoint`, error);
  }
}

function askDelete(id: string): void {
  state.confirmingDelete = id;
  renderEndpoints();
}

async function deleteEndpoint(endpoint: Endpoint): Promise<void> {
  clearError();
  state.confirmingDelete = null;
  try {
    await api.request('DELETE', `/endpoints/${seg(endpoint.id)}`);
    notify(`Deleted ${endpoint.url}.`);
    await loadEndpoints();
  } catch (error) {
    fail('Could not delete the endpoint', error);
    renderEndpoints();
  }
}

async function rotateSecret(endpoint: Endpoint): Promise<void> {
  clearError();
  try {
    const { body } = await api.post<WithSecret>(`/endpoints/${seg(endpoint.id)}/secret/rotate`);
    const until = body.previousSecretExpiresAt
      ? `; the previous one keeps signing until ${new Date(body.previousSecretExpiresAt).toLocaleString()}`
      : '';
    form.showSecret(`of ${endpoint.url}${until}`, body.secret);
  } catch (error) {
    fail('Could not rotate the secret', error);
  }
}

async function sendTest(endpoint: Endpoint): Promise<void> {
  clearError();
  try {
    const { body } = await api.post<{ id: string }>(`/endpoints/${seg(endpoint.id)}/test`, {});
    notify(`Sent a test event (${body.id}) to ${endpoint.url}.`);
    window.setTimeout(() => {
      loadDeliveries(true).catch((error: unknown) => fail('Could not list deliveries', error));
    }, 1500);
  } catch (error) {
    fail('Could not send a test event', error);
  }
}

async function recover(): Promise<void> {
  clearError();
  const endpointId = fieldValue('recover-endpoint');
  const since = localInputToIso(fieldValue('recover-since'));
  if (!endpointId || !since) return;
  const button = byId<HTMLButtonElement>('recover-submit');
  button.disabled = true;
  let queued = 0;
  let skipped = 0;
  let cursor: string | null = null;
  try {
    for (let call = 0; call < MAX_RECOVER_CALLS; call++) {
      const { body }: { body: RecoverResult } = await api.post<RecoverResult>(
        `/endpoints/${seg(endpointId)}/recover${query({ since, cursor })}`,
        { since },
      );
      queued += body.queued;
      skipped += body.skipped;
      cursor = body.nextCursor;
      if (body.done || !cursor) break;
    }
    notify(
      `Queued ${queued} deliver${queued === 1 ? 'y' : 'ies'} to ${endpointLabel(endpointId)} again` +
        (skipped > 0 ? ` (${skipped} already had a retry coming)` : '') +
        (cursor ? '; press again to go on.' : '.'),
    );
    await loadDeliveries(true);
  } catch (error) {
    fail('Recovery refused', error);
  } finally {
    button.disabled = false;
  }
}

// --- deliveries ----------------------------------------------------------------------------

const deliveries = new DeliveryView({
  api,
  endpointLabel,
  listQuery: (cursor) =>
    query({
      limit: String(PAGE_SIZE),
      endpointId: fieldValue('filter-endpoint'),
      status: fieldValue('filter-status'),
      since: localInputToIso(fieldValue('filter-since')),
      cursor,
    }),
  fail,
});

const loadDeliveries = (reset: boolean): Promise<void> => deliveries.load(reset);

// --- wiring --------------------------------------------------------------------------------

byId('refresh').addEventListener('click', () => void refreshAll());
byId('add-endpoint').addEventListener('click', () => form.open(null));
byId('recover-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void recover();
});
byId('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  clearError();
  loadDeliveries(true).catch((error: unknown) => fail('Could not list deliveries', error));
});

void start();
