/**
 * The deliveries list and the detail panel (facts, every attempt, Retry), shared by the
 * dashboard and the portal; both pages' HTML carries the same elements (`#deliveries-body`,
 * `#detail`, `#attempts-body`, ...). The page says which filters apply and how failures show.
 */
import { type ApiClient, seg } from './api.ts';
import { byId, h } from './dom.ts';
import { attemptRows, badge, lastResult, retryable, time } from './format.ts';
import { clearError, notify } from './messages.ts';
import type { Delivery, Page } from './types.ts';

/** How often a delivery is re-read after a retry, and how many times at most. */
const POLL_INTERVAL_MS = 1500;
const POLL_TIMES = 40;

export interface DeliveryViewOptions {
  readonly api: ApiClient;
  /** What to call an endpoint (its URL when the page knows it). */
  readonly endpointLabel: (id: string) => string;
  /** The query of `GET /deliveries` for the page's filters and this cursor. */
  readonly listQuery: (cursor: string | null) => string;
  readonly fail: (context: string, error: unknown) => void;
  /** Whether the list and the detail name each delivery's tenant (a view across tenants). */
  readonly showTenant?: () => boolean;
  /** Called once a retried delivery has an outcome (or the page stopped following it). */
  readonly onSettled?: () => void;
}

export class DeliveryView {
  private cursor: string | null = null;
  private readonly shown = new Map<string, Delivery>();
  private pollTimer: number | undefined;
  /** The delivery whose detail is open. */
  selected: string | null = null;

  constructor(private readonly options: DeliveryViewOptions) {
    byId('load-more').addEventListener('click', () =>
      this.load(false).catch((error: unknown) => options.fail('Could not list more deliveries', error)),
    );
    byId('detail-retry').addEventListener('click', () => {
      byId<HTMLButtonElement>('detail-retry').disabled = true;
      if (this.selected) void this.retry(this.selected);
    });
    byId('detail-close').addEventListener('click', () => this.close());
  }

  /** Lists the first page again (`reset`) or the next one. */
  async load(reset: boolean): Promise<void> {
    if (reset) this.cursor = null;
    const table = byId('deliveries-table');
    const rows = byId('deliveries-body');
    table.setAttribute('aria-busy', 'true');
    try {
      const { body } = await this.options.api.get<Page<Delivery>>(
        `/deliveries${this.options.listQuery(this.cursor)}`,
      );
      if (reset) {
        this.shown.clear();
        rows.replaceChildren();
      }
      for (const delivery of body.items) {
        this.shown.set(delivery.id, delivery);
        rows.append(this.row(delivery));
      }
      this.cursor = body.nextCursor;
      byId('load-more').hidden = !body.nextCursor;
      byId('deliveries-empty').hidden = this.shown.size > 0;
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  private row(delivery: Delivery): HTMLTableRowElement {
    const label = this.options.endpointLabel(delivery.endpointId);
    return h(
      'tr',
      {
        class: 'selectable',
        'data-delivery-id': delivery.id,
        'aria-current': this.selected === delivery.id ? 'true' : null,
        onclick: (event) => {
          if (!(event.target instanceof Element && event.target.closest('button')))
            void this.show(delivery.id);
        },
      },
      h('td', {}, time(delivery.createdAt)),
      this.options.showTenant?.() ? h('td', { class: 'tenant mono', text: delivery.tenantId ?? '' }) : null,
      h(
        'td',
        {},
        h('button', {
          type: 'button',
          class: 'link mono',
          'aria-label': `${delivery.eventType}: show attempts`,
          title: `Show the attempts of ${delivery.id}`,
          onclick: () => void this.show(delivery.id),
          text: delivery.eventType,
        }),
      ),
      h('td', {
        class: 'endpoint',
        title: `${label} (${delivery.endpointId})`,
        text: label.replace(/^https?:\/\//, ''),
      }),
      h('td', {}, badge(delivery.status)),
      h('td', { class: 'num', text: String(delivery.attemptCount) }),
      h('td', {}, lastResult(delivery)),
      h(
        'td',
        { class: 'actions' },
        retryable(delivery)
          ? h('button', {
              type: 'button',
              class: 'small danger',
              'aria-label': `Retry delivery ${delivery.id}`,
              onclick: () => void this.retry(delivery.id),
              text: 'Retry',
            })
          : null,
      ),
    );
  }

  private updateRow(delivery: Delivery): void {
    this.shown.set(delivery.id, delivery);
    document
      .querySelector(`tr[data-delivery-id="${CSS.escape(delivery.id)}"]`)
      ?.replaceWith(this.row(delivery));
  }

  /** Opens (or re-reads) a delivery's detail with every attempt. */
  async show(id: string): Promise<Delivery | null> {
    clearTimeout(this.pollTimer);
    this.selected = id;
    for (const row of document.querySelectorAll('tr[data-delivery-id]')) {
      if (row.getAttribute('data-delivery-id') === id) row.setAttribute('aria-current', 'true');
      else row.removeAttribute('aria-current');
    }
    try {
      const { body } = await this.options.api.get<Delivery>(`/deliveries/${seg(id)}`);
      if (this.selected !== id) return body;
      this.renderDetail(body);
      this.updateRow(body);
      return body;
    } catch (error) {
      this.options.fail(`Could not load delivery ${id}`, error);
      return null;
    }
  }

  private renderDetail(delivery: Delivery): void {
    byId('layout').classList.add('with-detail');
    byId('detail').hidden = false;
    byId('detail-id').textContent = delivery.id;
    byId('detail-status').replaceChildren(badge(delivery.status));
    const facts: Array<[string, Node | string]> = [
      ['Event', h('span', { class: 'mono', text: delivery.eventId })],
      ['Type', h('span', { class: 'mono', text: delivery.eventType })],
      ...(this.options.showTenant?.()
        ? [['Tenant', h('span', { class: 'mono', text: delivery.tenantId ?? '' })] as [string, Node]]
        : []),
      ['Endpoint', this.options.endpointLabel(delivery.endpointId)],
      ['Created', time(delivery.createdAt)],
      ['Attempts', String(delivery.attemptCount)],
    ];
    if (delivery.deliveredAt) facts.push(['Delivered', time(delivery.deliveredAt)]);
    if (delivery.nextAttemptAt) facts.push(['Next attempt', time(delivery.nextAttemptAt)]);
    if (delivery.redrives) facts.push(['Redrives', String(delivery.redrives)]);
    if (delivery.retryQueuedAt) facts.push(['Retry queued', time(delivery.retryQueuedAt)]);
    byId('detail-facts').replaceChildren(
      ...facts.flatMap(([name, value]) => [h('dt', { text: name }), h('dd', {}, value)]),
    );
    const retryButton = byId<HTMLButtonElement>('detail-retry');
    retryButton.hidden = !retryable(delivery);
    retryButton.disabled = false;
    const rows = attemptRows(delivery);
    byId('attempts-body').replaceChildren(...rows);
    byId('attempts-empty').hidden = rows.length > 0;
  }

  /** Closes the detail panel and stops following a retry. */
  close(): void {
    clearTimeout(this.pollTimer);
    this.selected = null;
    byId('detail').hidden = true;
    byId('layout').classList.remove('with-detail');
    for (const row of document.querySelectorAll('tr[aria-current]')) row.removeAttribute('aria-current');
  }

  /** Stops following a retry (the page is going away or being reset). */
  stop(): void {
    clearTimeout(this.pollTimer);
  }

  async retry(id: string): Promise<void> {
    clearError();
    try {
      await this.options.api.post(`/deliveries/${seg(id)}/retry`);
      notify(`Retry of ${id} queued.`);
      await this.show(id);
      this.follow(id, POLL_TIMES);
    } catch (error) {
      this.options.fail('Retry refused', error);
    }
  }

  /** Re-reads a delivery after a retry until it has an outcome (or the time is up). */
  private follow(id: string, times: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = window.setTimeout(async () => {
      if (this.selected !== id) return;
      const delivery = await this.show(id);
      if (delivery && delivery.status === 'pending' && times > 0) this.follow(id, times - 1);
      else this.options.onSettled?.();
    }, POLL_INTERVAL_MS);
  }
}
