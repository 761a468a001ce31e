/**
 * The operator dashboard served at `GET /dashboard`: one static, self-contained page (inline
 * CSS and JS, no framework, no build step, nothing fetched from elsewhere) that talks to the
 * API of the origin it was served from with the key the operator pastes.
 *
 * Everything the API returns, and above all what receivers answered (errors, response
 * excerpts), is put on the page as text (`textContent`, `append(string)`), never as markup;
 * the page's content security policy forbids HTML sinks outright (Trusted Types with no
 * policy), so a slip would fail loudly instead of running a receiver's script.
 *
 * The script is a raw string: it must contain no backtick and no `${`, and stays plain
 * browser JavaScript so what is served is what is reviewed.
 */

/** The page's stylesheet, the content of its one `<style>` element. */
export const DASHBOARD_STYLE = `
:root {
  color-scheme: light;
  --bg: #f5f6f8; --card: #fff; --text: #1c2430; --muted: #5f6b7a; --line: #e3e7ec;
  --accent: #2457c5; --accent-dark: #1b439b; --focus: #7aa2f7;
  --ok: #17703a; --ok-bg: #e3f4e8; --warn: #8a5300; --warn-bg: #fdf0d8;
  --bad: #b4232c; --bad-bg: #fde5e6; --info: #33507a; --info-bg: #e6edf7;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
[hidden] { display: none !important; }
header.topbar {
  display: flex; align-items: center; justify-content: space-between; gap: 16px;
  padding: 10px 24px; background: #111827; color: #f3f4f6;
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 600; font-size: 15px; }
.brand .sub { color: #9ca3af; font-weight: 400; }
.logo { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, #4f7df3, #22c39a); }
.session { display: flex; align-items: center; gap: 10px; font-size: 13px; color: #d1d5db; }
.session .dot { width: 8px; height: 8px; border-radius: 50%; background: #22c55e; display: inline-block; }
main { max-width: 1480px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 18px; margin: 0 0 6px; }
h2 { font-size: 15px; margin: 0; }
h3 { font-size: 13px; margin: 16px 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
p { margin: 0 0 12px; }
.muted { color: var(--muted); }
.mono { font-family: var(--mono); font-size: 12.5px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .04); margin-bottom: 16px;
}
.card-head {
  display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 16px; border-bottom: 1px solid var(--line);
}
.card-body { padding: 12px 16px; }
.connect { max-width: 520px; margin: 48px auto; padding: 24px; }
.connect form { display: flex; gap: 8px; margin-top: 12px; }
.connect label { display: block; font-weight: 600; margin-bottom: 4px; }
.connect .field { flex: 1; }
.connect .row { display: flex; gap: 8px; }
input, select, button { font: inherit; }
::placeholder { color: #9aa4b2; }
input[type=text], input[type=password], select {
  height: 32px; padding: 0 10px; border: 1px solid #cfd6df; border-radius: 6px; background: #fff; color: var(--text);
}
input[type=password] { width: 100%; font-family: var(--mono); }
button {
  height: 32px; padding: 0 12px; border: 1px solid #cfd6df; border-radius: 6px; background: #fff;
  color: var(--text); cursor: pointer; white-space: nowrap;
}
button:hover:not(:disabled) { background: #f0f3f7; }
button:disabled { opacity: .55; cursor: not-allowed; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.primary:hover:not(:disabled) { background: var(--accent-dark); }
button.danger { color: var(--bad); border-color: #f0b4b8; font-weight: 600; }
button.danger:hover:not(:disabled) { background: var(--bad-bg); }
button.small { height: 26px; padding: 0 9px; font-size: 12.5px; }
button.link { border: 0; background: none; color: var(--accent); padding: 0; height: auto; text-align: left; font-size: 12.5px; }
button.link:hover:not(:disabled) { background: none; text-decoration: underline; }
header button { background: transparent; color: #e5e7eb; border-color: #374151; }
header button:hover:not(:disabled) { background: #1f2937; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
.alert {
  display: flex; align-items: flex-start; justify-content: space-between; gap: 12px;
  border: 1px solid #f0b4b8; background: var(--bad-bg); color: #7a1016; border-radius: 8px;
  padding: 10px 14px; margin-bottom: 16px;
}
.alert .code { font-family: var(--mono); font-weight: 600; margin-right: 6px; }
.alert .tracking { display: block; font-size: 12px; color: #8f3a40; margin-top: 2px; }
.alert button { background: transparent; border-color: #f0b4b8; color: #7a1016; height: 26px; }
.notice {
  border: 1px solid #b9dcc4; background: var(--ok-bg); color: #0f4d27; border-radius: 8px;
  padding: 10px 14px; margin-bottom: 16px;
}
.notice:empty { display: none; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 16px; margin-bottom: 16px; }
.stat { padding: 14px 16px; margin: 0; display: flex; flex-direction: column; gap: 4px; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.stat .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .value.alarm { color: var(--bad); }
.stat .row { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; align-items: start; }
@media (min-width: 1150px) { .layout.with-detail { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } }
.layout > .card { margin-bottom: 0; }
.detail { position: sticky; top: 16px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 7px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; background: #fafbfc; white-space: nowrap; }
td.time, td time { white-space: nowrap; }
td.endpoint { max-width: 150px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr.selectable { cursor: pointer; }
tbody tr.selectable:hover { background: #f7f9fc; }
tbody tr[aria-current=true] { background: #eef3fd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.url { max-width: 360px; overflow-wrap: anywhere; }
td.actions { white-space: nowrap; text-align: right; }
td.actions button + button { margin-left: 6px; }
.empty { padding: 18px 16px; color: var(--muted); text-align: center; }
.table-wrap { overflow-x: auto; }
.badge {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  line-height: 18px; background: var(--info-bg); color: var(--info); white-space: nowrap;
}
.badge.delivered, .badge.enabled { background: var(--ok-bg); color: var(--ok); }
.badge.failed { background: var(--warn-bg); color: var(--warn); }
.badge.dead, .badge.disabled { background: var(--bad-bg); color: var(--bad); }
.code-ok { color: var(--ok); font-weight: 600; }
.code-bad { color: var(--bad); font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px; padding: 12px 16px; border-bottom: 1px solid var(--line); }
.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); font-weight: 600; }
.filters select { min-width: 150px; max-width: 260px; }
.filters input[type=text] { width: 170px; }
.more { padding: 10px 16px; text-align: center; border-top: 1px solid var(--line); }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 5px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
pre.excerpt {
  margin: 0; max-height: 140px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font: 12px/1.4 var(--mono); background: #f6f7f9; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px;
}
.error-text { color: var(--bad); overflow-wrap: anywhere; }
.detail .card-head { align-items: flex-start; }
.detail .card-head > div:first-child { min-width: 0; }
.detail-id { display: block; margin-top: 2px; font-weight: 400; color: var(--muted); overflow-wrap: anywhere; }
.detail-actions { display: flex; align-items: center; gap: 8px; flex-shrink: 0; }
`;

/** The page's behaviour, the content of its one `<script>` element. */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
(() => {
  const KEY_STORAGE = 'webhooks.dashboard.apiKey';
  const PAGE_SIZE = 25;
  // The page lives at <base>/dashboard; on AWS the base may carry a stage path.
  const base = location.pathname.replace(/\/dashboard\/?$/, '');
  const $ = (id) => document.getElementById(id);

  const state = {
    key: sessionStorage.getItem(KEY_STORAGE),
    endpoints: [],
    cursor: null,
    deliveries: new Map(),
    selected: null,
    pollTimer: null,
    dlqTimer: null,
  };

  /** Builds an element. Strings become text nodes: nothing here ever parses markup. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message, trackingId) {
      super(message);
      this.status = status;
      this.code = code;
      this.trackingId = trackingId;
    }
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers: Object.assign(
          { 'x-api-key': state.key || '' },
          body === undefined ? {} : { 'content-type': 'application/json' },
        ),
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      throw new ApiError(0, 'network_error', 'the API did not answer (' + error.message + ')', null);
    }
    const trackingId = response.headers.get('trackingid');
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = parsed && parsed.error ? parsed.error : {};
      throw new ApiError(
        response.status,
        error.code || 'http_' + response.status,
        error.message || 'HTTP ' + response.status,
        trackingId,
      );
    }
    return { status: response.status, body: parsed };
  }

  // --- messages ------------------------------------------------------------------------

  function showError(context, error) {
    if (error && error.status === 401) {
      disconnect();
      context = 'The API key was refused';
    }
    const box = $('error');
    const code = error && error.code ? error.code : 'error';
    const message = error && error.message ? error.message : String(error);
    box.replaceChildren(
      h('div', {},
        h('strong', { text: context + ': ' }),
        h('span', { class: 'code', text: code }),
        h('span', { text: message }),
        error && error.trackingId ? h('span', { class: 'tracking', text: 'Trackingid ' + error.trackingId }) : null,
      ),
      h('button', { type: 'button', class: 'small', onclick: clearError, text: 'Dismiss' }),
    );
    box.hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error').replaceChildren();
  }

  function notify(message) {
    $('notice').textContent = message;
  }

  // --- formatting ----------------------------------------------------------------------

  const timeFormat = new Intl.DateTimeFormat(undefined, {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });

  function time(iso) {
    if (!iso) return h('span', { class: 'muted', text: '—' });
    const date = new Date(iso);
    return h('time', { datetime: iso, title: iso, text: Number.isNaN(date.getTime()) ? iso : timeFormat.format(date) });
  }

  function badge(status) {
    return h('span', { class: 'badge ' + status, text: status });
  }

  function duration(ms) {
    if (typeof ms !== 'number') return '—';
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  }

  function statusCode(code) {
    if (typeof code !== 'number') return h('span', { class: 'muted', text: '—' });
    return h('span', { class: code >= 200 && code < 300 ? 'code-ok' : 'code-bad', text: String(code) });
  }

  function endpointLabel(id) {
    const endpoint = state.endpoints.find((candidate) => candidate.id === id);
    return endpoint ? endpoint.url : id;
  }

  const retryable = (delivery) => delivery.status === 'failed' || delivery.status === 'dead';

  // --- session -------------------------------------------------------------------------

  async function connect(key) {
    state.key = key;
    clearError();
    try {
      await loadEndpoints();
    } catch (error) {
      state.key = null;
      sessionStorage.removeItem(KEY_STORAGE);
      showError(error.status === 401 ? 'The API key was refused' : 'Could not connect', error);
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    $('connect').hidden = true;
    $('app').hidden = false;
    $('session').hidden = false;
    await Promise.all([loadDlq(), loadDeliveries(true)]);
  }

  function disconnect() {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    clearTimeout(state.pollTimer);
    clearTimeout(state.dlqTimer);
    $('app').hidden = true;
    $('session').hidden = true;
    $('connect').hidden = false;
    $('api-key').value = '';
    notify('');
  }

  async function refreshAll() {
    clearError();
    try {
      await loadEndpoints();
      await Promise.all([loadDlq(), loadDeliveries(true), state.selected ? showDelivery(state.selected) : null]);
    } catch (error) {
      showError('Refresh failed', error);
    }
  }

  // --- endpoints -----------------------------------------------------------------------

  async function loadEndpoints() {
    const endpoints = [];
    let cursor = null;
    // Ten pages of 100 is far more than a dashboard lists; the CLI pages through the rest.
    for (let page = 0; page < 10; page++) {
      const query = '?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
      const { body } = await api('GET', '/endpoints' + query);
      endpoints.push(...body.items);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    // Backlogs (deliveries held while a circuit is open or over a rate limit) are counted per
    // endpoint, so only the endpoints that have one are asked.
    const backlogged = endpoints.filter((endpoint) => endpoint.hasBacklog).slice(0, 50);
    const details = await Promise.all(
      backlogged.map((endpoint) => api('GET', '/endpoints/' + encodeURIComponent(endpoint.id))),
    );
    state.backlogs = new Map(details.map(({ body }) => [body.id, body.backlog]));
    state.endpoints = endpoints;
    renderEndpoints();
  }

  function backlogCell(endpoint) {
    const backlog = state.backlogs && state.backlogs.get(endpoint.id);
    if (!backlog || backlog.size === 0) return h('span', { class: 'muted', text: '—' });
    const size = backlog.size + (backlog.complete ? '' : '+') + ' held';
    const oldest = backlog.oldestAt ? ', oldest ' + new Date(backlog.oldestAt).toLocaleString() : '';
    return h('span', { text: size + (backlog.reason ? ' (' + backlog.reason + ')' : '') + oldest });
  }

  function renderEndpoints() {
    const enabled = state.endpoints.filter((endpoint) => endpoint.enabled).length;
    $('endpoint-count').textContent = String(state.endpoints.length);
    $('endpoint-summary').textContent =
      state.endpoints.length === 0 ? 'none yet' : enabled + ' enabled, ' + (state.endpoints.length - enabled) + ' disabled';
    const rows = state.endpoints.map((endpoint) =>
      h('tr', {},
        h('td', { class: 'url mono', text: endpoint.url }),
        h('td', {}, badge(endpoint.enabled ? 'enabled' : 'disabled')),
        h('td', { class: 'num', text: String(endpoint.failureStreak) }),
        h('td', { class: 'backlog' }, backlogCell(endpoint)),
        h('td', {}, endpoint.disabledReason || h('span', { class: 'muted', text: '—' })),
        h('td', { class: 'mono muted', text: endpoint.id }),
      ),
    );
    $('endpoints-body').replaceChildren(...rows);
    $('endpoints-empty').hidden = rows.length > 0;

    const select = $('filter-endpoint');
    const current = select.value;
    select.replaceChildren(
      h('option', { value: '', text: 'All endpoints' }),
      ...state.endpoints.map((endpoint) => h('option', { value: endpoint.id, text: endpoint.url })),
    );
    select.value = state.endpoints.some((endpoint) => endpoint.id === current) ? current : '';
  }

  // --- dead-letter queue ---------------------------------------------------------------

  async function loadDlq() {
    const { body } = await api('GET', '/dlq');
    $('dlq-count').textContent = String(body.visible);
    $('dlq-count').classList.toggle('alarm', body.visible > 0);
    $('dlq-inflight').textContent = body.inFlight > 0 ? body.inFlight + ' in flight' : 'messages waiting';
    $('redrive').disabled = body.visible === 0;
    return body;
  }

  async function redrive() {
    clearError();
    const button = $('redrive');
    button.disabled = true;
    try {
      const { body } = await api('POST', '/dlq/redrive');
      if (body.mode === 'move-task') {
        notify('SQS started a message move task (' + body.taskHandle + '): dead-lettered messages return to the delivery queue over the next minutes.');
      } else {
        notify('Moved ' + body.moved + ' message' + (body.moved === 1 ? '' : 's') + ' back to the delivery queue.');
      }
      watchDlq(20);
    } catch (error) {
      showError('Redrive failed', error);
      button.disabled = false;
    }
  }

  /** Re-reads the DLQ depth and the deliveries a few times while redriven messages are delivered. */
  function watchDlq(times) {
    clearTimeout(state.dlqTimer);
    const tick = async (left) => {
      try {
        await loadDlq();
        if (left % 3 === 0) await loadDeliveries(true);
      } catch (error) {
        showError('Could not refresh the dead-letter queue', error);
        return;
      }
      if (left > 0) state.dlqTimer = setTimeout(() => tick(left - 1), 1500);
    };
    tick(times);
  }

  // --- deliveries ----------------------------------------------------------------------

  function deliveryQuery() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const endpointId = $('filter-endpoint').value;
    const status = $('filter-status').value;
    const type = $('filter-type').value.trim();
    if (endpointId) params.set('endpointId', endpointId);
    if (status) params.set('status', status);
    if (type) params.set('type', type);
    if (state.cursor) params.set('cursor', state.cursor);
    return '?' + params.toString();
  }

  async function loadDeliveries(reset) {
    if (reset) state.cursor = null;
    const table = $('deliveries-table');
    table.setAttribute('aria-busy', 'true');
    try {
      const { body } = await api('GET', '/deliveries' + deliveryQuery());
      if (reset) {
        state.deliveries.clear();
        $('deliveries-body').replaceChildren();
      }
      for (const delivery of body.items) {
        state.deliveries.set(delivery.id, delivery);
        $('deliveries-body').append(deliveryRow(delivery));
      }
      state.cursor = body.nextCursor;
      $('load-more').hidden = !body.nextCursor;
      $('deliveries-empty').hidden = state.deliveries.size > 0;
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  function lastResult(delivery) {
    const last = delivery.lastAttempt;
    if (!last) return h('span', { class: 'muted', text: '—' });
    if (typeof last.statusCode === 'number') return statusCode(last.statusCode);
    return h('span', { class: 'error-text', text: last.error ? last.error.slice(0, 60) : 'error' });
  }

  function deliveryRow(delivery) {
    const row = h('tr', {
      class: 'selectable',
      'data-delivery-id': delivery.id,
      'aria-current': state.selected === delivery.id ? 'true' : null,
      onclick: (event) => {
        if (!event.target.closest('button')) showDelivery(delivery.id);
      },
    },
      h('td', {}, time(delivery.createdAt)),
      h('td', {},
        h('button', {
          type: 'button', class: 'link mono', 'aria-label': delivery.eventType + ': show attempts',
          title: 'Show the attempts of ' + delivery.id, onclick: () => showDelivery(delivery.id),
          text: delivery.eventType,
        }),
      ),
      h('td', {
        class: 'endpoint',
        title: endpointLabel(delivery.endpointId) + ' (' + delivery.endpointId + ')',
        text: endpointLabel(delivery.endpointId).replace(/^https?:\/\//, ''),
      }),
      h('td', {}, badge(delivery.status)),
      h('td', { class: 'num', text: String(delivery.attemptCount) }),
      h('td', {}, lastResult(delivery)),
      h('td', { class: 'actions' },
        retryable(delivery)
          ? h('button', {
              type: 'button', class: 'small danger', 'aria-label': 'Retry delivery ' + delivery.id,
              onclick: () => retry(delivery.id), text: 'Retry',
            })
          : null,
      ),
    );
    return row;
  }

  function updateRow(delivery) {
    state.deliveries.set(delivery.id, delivery);
    const old = document.querySelector('tr[data-delivery-id="' + CSS.escape(delivery.id) + '"]');
    if (old) old.replaceWith(deliveryRow(delivery));
  }

  async function showDelivery(id) {
    clearTimeout(state.pollTimer);
    state.selected = id;
    for (const row of document.querySelectorAll('tr[data-delivery-id]')) {
      if (row.getAttribute('data-delivery-id') === id) row.setAttribute('aria-current', 'true');
      else row.removeAttribute('aria-current');
    }
    try {
      const { body } = await api('GET', '/deliveries/' + encodeURIComponent(id));
      if (state.selected !== id) return body;
      renderDetail(body);
      updateRow(body);
      return body;
    } catch (error) {
      showError('Could not load delivery ' + id, error);
      return null;
    }
  }

  function renderDetail(delivery) {
    $('layout').classList.add('with-detail');
    $('detail').hidden = false;
    $('detail-id').textContent = delivery.id;
    $('detail-status').replaceChildren(badge(delivery.status));
    const facts = [
      ['Event', h('span', { class: 'mono', text: delivery.eventId })],
      ['Type', h('span', { class: 'mono', text: delivery.eventType })],
      ['Endpoint', endpointLabel(delivery.endpointId)],
      ['Created', time(delivery.createdAt)],
      ['Attempts', String(delivery.attemptCount)],
    ];
    if (delivery.deliveredAt) facts.push(['Delivered', time(delivery.deliveredAt)]);
    if (delivery.nextAttemptAt) facts.push(['Next attempt', time(delivery.nextAttemptAt)]);
    if (delivery.redrives) facts.push(['Redrives', String(delivery.redrives)]);
    if (delivery.retryQueuedAt) facts.push(['Retry queued', time(delivery.retryQueuedAt)]);
    $('detail-facts').replaceChildren(...facts.flatMap(([name, value]) => [h('dt', { text: name }), h('dd', {}, value)]));

    const retryButton = $('detail-retry');
    retryButton.hidden = !retryable(delivery);
    retryButton.disabled = false;

    const attempts = delivery.attempts || [];
    $('attempts-body').replaceChildren(
      ...attempts.map((attempt) =>
        h('tr', {},
          h('td', { class: 'num', text: String(attempt.attempt) }),
          h('td', {}, time(attempt.at)),
          h('td', {}, statusCode(attempt.statusCode)),
          h('td', { class: 'num', text: duration(attempt.durationMs) }),
          h('td', {},
            attempt.error ? h('div', { class: 'error-text', text: attempt.error }) : null,
            attempt.responseExcerpt ? h('pre', { class: 'excerpt', text: attempt.responseExcerpt }) : null,
            !attempt.error && !attempt.responseExcerpt ? h('span', { class: 'muted', text: '—' }) : null,
          ),
        ),
      ),
    );
    $('attempts-empty').hidden = attempts.length > 0;
  }

  async function retry(id) {
    clearError();
    try {
      await api('POST', '/deliveries/' + encodeURIComponent(id) + '/retry');
      notify('Retry of ' + id + ' queued.');
      await showDelivery(id);
      pollDelivery(id, 40);
    } catch (error) {
      showError('Retry refused', error);
    }
  }

  /** Follows a delivery after a retry until it has an outcome (or the time is up). */
  function pollDelivery(id, times) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(async () => {
      if (state.selected !== id) return;
      const delivery = await showDelivery(id);
      if (delivery && delivery.status === 'pending' && times > 0) pollDelivery(id, times - 1);
      else loadDlq().catch((error) => showError('Could not refresh the dead-letter queue', error));
    }, 1500);
  }

  // --- wiring --------------------------------------------------------------------------

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (key) connect(key);
  });
  $('disconnect').addEventListener('click', disconnect);
  $('refresh').addEventListener('click', refreshAll);
  $('redrive').addEventListener('click', redrive);
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    clearError();
    loadDeliveries(true).catch((error) => showError('Could not list deliveries', error));
  });
  $('load-more').addEventListener('click', () =>
    loadDeliveries(false).catch((error) => showError('Could not list more deliveries', error)),
  );
  $('detail-retry').addEventListener('click', () => {
    $('detail-retry').disabled = true;
    if (state.selected) retry(state.selected);
  });
  $('detail-close').addEventListener('click', () => {
    clearTimeout(state.pollTimer);
    state.selected = null;
    $('detail').hidden = true;
    $('layout').classList.remove('with-detail');
    for (const row of document.querySelectorAll('tr[aria-current]')) row.removeAttribute('aria-current');
  });

  if (state.key) connect(state.key);
})();
`;

/** The page around the style and script (each inserted verbatim, so their CSP hashes hold). */
export function dashboardHtml(style: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Webhooks · Delivery dashboard</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
<header class="topbar">
  <div class="brand"><span class="logo" aria-hidden="true"></span>Webhooks <span class="sub">Delivery dashboard</span></div>
  <div class="session" id="session" hidden>
    <span><span class="dot" aria-hidden="true"></span> Connected</span>
    <button type="button" id="refresh">Refresh</button>
    <button type="button" id="disconnect">Forget key</button>
  </div>
</header>
<main>
  <div id="error" class="alert" role="alert" hidden></div>
  <div id="notice" class="notice" role="status" aria-live="polite"></div>

  <section id="connect" class="card connect" aria-labelledby="connect-title">
    <h1 id="connect-title">Connect to the API</h1>
    <p class="muted">Paste an API key. It stays in this browser tab (session storage) and is sent only to this API, in the <span class="mono">x-api-key</span> header.</p>
    <form id="key-form" autocomplete="off">
      <div class="field">
        <label for="api-key">API key</label>
        <div class="row">
          <input id="api-key" name="api-key" type="password" required spellcheck="false" placeholder="whk_…">
          <button type="submit" class="primary">Connect</button>
        </div>
      </div>
    </form>
  </section>

  <div id="app" hidden>
    <div class="stats">
      <section class="card stat" aria-labelledby="dlq-title">
        <span class="label" id="dlq-title">Dead-letter queue</span>
        <div class="row">
          <span class="value" id="dlq-count" aria-describedby="dlq-title">0</span>
          <button type="button" id="redrive" class="primary" disabled>Redrive</button>
        </div>
        <span class="muted" id="dlq-inflight"></span>
      </section>
      <section class="card stat" aria-labelledby="endpoints-stat-title">
        <span class="label" id="endpoints-stat-title">Endpoints</span>
        <span class="value" id="endpoint-count">0</span>
        <span class="muted" id="endpoint-summary"></span>
      </section>
    </div>

    <section class="card" aria-labelledby="endpoints-title">
      <div class="card-head"><h2 id="endpoints-title">Endpoints</h2></div>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Endpoints: URL, state, consecutive failures and why an endpoint is disabled</caption>
          <thead><tr><th scope="col">URL</th><th scope="col">State</th><th scope="col" class="num">Failure streak</th><th scope="col">Backlog</th><th scope="col">Disabled reason</th><th scope="col">Id</th></tr></thead>
          <tbody id="endpoints-body"></tbody>
        </table>
      </div>
      <p class="empty" id="endpoints-empty" hidden>No endpoints yet. Create one with <span class="mono">POST /endpoints</span>.</p>
    </section>

    <div class="layout" id="layout">
      <section class="card" aria-labelledby="deliveries-title">
        <div class="card-head"><h2 id="deliveries-title">Recent deliveries</h2></div>
        <form class="filters" id="filters" aria-label="Filter deliveries">
          <label>Endpoint <select id="filter-endpoint" name="endpointId"><option value="">All endpoints</option></select></label>
          <label>Status
            <select id="filter-status" name="status">
              <option value="">Any status</option>
              <option value="pending">pending</option>
              <option value="delivered">delivered</option>
              <option value="failed">failed</option>
              <option value="dead">dead</option>
            </select>
          </label>
          <label>Event type <input id="filter-type" name="type" type="text" spellcheck="false" placeholder="e.g. invoice.paid"></label>
          <button type="submit">Apply filters</button>
        </form>
        <div class="table-wrap">
          <table id="deliveries-table">
            <caption class="sr-only">Deliveries, newest first</caption>
            <thead><tr><th scope="col">Created</th><th scope="col">Event type</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Last result</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody id="deliveries-body"></tbody>
          </table>
        </div>
        <p class="empty" id="deliveries-empty" hidden>No deliveries match these filters.</p>
        <div class="more" id="load-more-wrap"><button type="button" id="load-more" hidden>Load more</button></div>
      </section>

      <section class="card detail" id="detail" aria-labelledby="detail-title" hidden>
        <div class="card-head">
          <div>
            <h2 id="detail-title">Delivery <span class="mono detail-id" id="detail-id"></span></h2>
          </div>
          <div class="detail-actions">
            <span id="detail-status"></span>
            <button type="button" id="detail-retry" class="small danger" hidden>Retry</button>
            <button type="button" id="detail-close" class="small" aria-label="Close delivery details">Close</button>
          </div>
        </div>
        <div class="card-body">
          <dl class="facts" id="detail-facts"></dl>
          <h3 id="attempts-title">Attempts</h3>
          <div class="table-wrap">
            <table aria-labelledby="attempts-title">
              <thead><tr><th scope="col" class="num">#</th><th scope="col">Time</th><th scope="col">Status</th><th scope="col" class="num">Duration</th><th scope="col">Error and response</th></tr></thead>
              <tbody id="attempts-body"></tbody>
            </table>
          </div>
          <p class="empty" id="attempts-empty" hidden>No attempt yet.</p>
        </div>
      </section>
    </div>
  </div>
</main>
<script>${script}</script>
</body>
</html>
`;
}
