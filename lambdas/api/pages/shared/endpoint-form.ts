/**
 * The endpoint form, shared by the dashboard and the portal (both pages' HTML carries the same
 * `#endpoint-form` elements): URL, event types, description, the custom headers and the
 * payload filter, when adding an endpoint and on an existing one, and the one-time secret box.
 *
 * Custom header values are write-only: the API returns only their names, so an existing
 * endpoint's headers are kept, replaced as a whole (the names and values typed here) or
 * removed, never read back. The filter is shown as the JSON the API returns and edited as
 * such; emptying it removes it. A refusal of the API (a 400 naming the faulty header or the
 * filter's path) shows inside the form, next to what it names.
 */
import { type ApiClient, ApiError, seg } from './api.ts';
import { byId, fieldValue, h } from './dom.ts';
import { clearError, notify } from './messages.ts';
import type { Endpoint, WithSecret } from './types.ts';

export interface EndpointFormOptions {
  readonly api: ApiClient;
  /** How the page shows a failure the form does not (a refused credential, an outage). */
  readonly fail: (context: string, error: unknown) => void;
  /** What `POST /endpoints` carries besides the form (the dashboard: the tenant). */
  readonly createFields?: () => Record<string, string>;
  /** Called after a save, to list the endpoints again. */
  readonly saved: () => Promise<void>;
}

/** What the header mode select offers on an existing endpoint. */
type HeadersMode = 'keep' | 'replace' | 'remove';

/** `invoice.paid, invoice.refunded` (commas or spaces) as a list; empty means all. */
const parseTypes = (text: string): string[] => text.split(/[\s,]+/).filter((type) => type && type !== 'all');

export const allTypes = (types: readonly string[]): boolean => types.length === 0 || types.includes('*');

/** A filter as the form and the tables show it: the API's JSON, compact. */
export const filterText = (filter: unknown): string =>
  filter === null || filter === undefined ? '' : JSON.stringify(filter);

/**
 * An endpoint's delivery options as a table cell: its custom header names (never a value: the
 * API has none to give) and its payload filter, both as text.
 */
export function optionsCell(endpoint: Endpoint): HTMLTableCellElement {
  const names = endpoint.headerNames ?? [];
  const filter = filterText(endpoint.filter);
  return h(
    'td',
    { class: 'options' },
    names.length > 0
      ? h(
          'div',
          { class: 'header-names' },
          h('span', { class: 'muted', text: 'Headers ' }),
          ...names.map((name) => h('span', { class: 'chip mono', text: name })),
        )
      : null,
    filter
      ? h(
          'div',
          { class: 'filter-text' },
          h('span', { class: 'muted', text: 'Filter ' }),
          h('code', { class: 'mono', text: filter }),
        )
      : null,
    names.length === 0 && !filter ? h('span', { class: 'muted', text: '—' }) : null,
  );
}

export class EndpointForm {
  /** The endpoint the form edits (null: the form adds one). */
  private editing: Endpoint | null = null;
  private rowCount = 0;

  constructor(private readonly options: EndpointFormOptions) {
    byId('endpoint-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    byId('endpoint-cancel').addEventListener('click', () => this.close());
    byId('header-add').addEventListener('click', () => this.addHeaderRow().querySelector('input')?.focus());
    byId('headers-mode').addEventListener('change', () => this.applyHeadersMode());
    byId('secret-dismiss').addEventListener('click', () => this.dismissSecret());
  }

  get editingId(): string | null {
    return this.editing?.id ?? null;
  }

  /** Opens the form to add an endpoint (`null`) or to edit this one. */
  open(endpoint: Endpoint | null): void {
    this.editing = endpoint;
    this.clearFormError();
    byId('endpoint-form-title').textContent = endpoint ? `Edit endpoint ${endpoint.url}` : 'Add endpoint';
    byId<HTMLInputElement>('endpoint-url').value = endpoint?.url ?? '';
    byId<HTMLInputElement>('endpoint-types').value =
      endpoint && !allTypes(endpoint.eventTypes) ? endpoint.eventTypes.join(', ') : '';
    byId<HTMLInputElement>('endpoint-description').value = endpoint?.description ?? '';
    byId<HTMLTextAreaElement>('endpoint-filter').value = filterText(endpoint?.filter);
    byId('header-rows').replaceChildren();
    this.rowCount = 0;
    const names = endpoint?.headerNames ?? [];
    const mode = byId<HTMLSelectElement>('headers-mode');
    mode.value = endpoint ? 'keep' : 'replace';
    // Adding: the rows are the headers. Editing: the current ones are kept unless replaced.
    byId('headers-mode-label').hidden = endpoint === null;
    byId('headers-current').textContent = endpoint
      ? names.length > 0
        ? `Now: ${names.join(', ')} (values are never shown).`
        : 'Now: none.'
      : '';
    this.applyHeadersMode();
    byId('endpoint-form').hidden = false;
    byId('endpoint-url').focus();
  }

  close(): void {
    this.editing = null;
    this.clearFormError();
    byId('header-rows').replaceChildren();
    byId('endpoint-form').hidden = true;
  }

  private headersMode(): HeadersMode {
    const value = fieldValue('headers-mode');
    return value === 'keep' || value === 'remove' ? value : 'replace';
  }

  /** The rows (and the button that adds one) show only when the headers are being set. */
  private applyHeadersMode(): void {
    const replacing = this.headersMode() === 'replace';
    byId('header-rows').hidden = !replacing;
    byId('header-add').hidden = !replacing;
    if (replacing && this.editing && this.rowCount === 0) this.addHeaderRow();
  }

  private addHeaderRow(): HTMLElement {
    const n = ++this.rowCount;
    const row = h(
      'div',
      { class: 'header-row' },
      h('input', {
        type: 'text',
        class: 'header-name mono',
        'aria-label': `Header name ${n}`,
        placeholder: 'X-Api-Key',
        spellcheck: 'false',
        autocomplete: 'off',
      }),
      h('input', {
        type: 'password',
        class: 'header-value mono',
        'aria-label': `Header value ${n}`,
        placeholder: 'value (write-only)',
        spellcheck: 'false',
        autocomplete: 'new-password',
      }),
      h('button', {
        type: 'button',
        class: 'small',
        'aria-label': `Remove header ${n}`,
        text: 'Remove',
        onclick: () => row.remove(),
      }),
    );
    byId('header-rows').append(row);
    return row;
  }

  /** The rows as `{name: value}`; rows left wholly empty are ignored, the API judges the rest. */
  private headerRows(): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const row of byId('header-rows').querySelectorAll<HTMLElement>('.header-row')) {
      const name = row.querySelector<HTMLInputElement>('.header-name')?.value.trim() ?? '';
      const value = row.querySelector<HTMLInputElement>('.header-value')?.value ?? '';
      if (name || value) headers[name] = value;
    }
    return headers;
  }

  /**
   * What the form says of headers and filter, as `POST`/`PATCH /endpoints` fields: absent when
   * unchanged, `null` when removed. A filter that is not JSON is refused here (returned as text).
   */
  private deliveryOptions(): { fields: Record<string, unknown> } | { fault: string } {
    const fields: Record<string, unknown> = {};
    const mode = this.headersMode();
    if (mode === 'remove') fields.headers = null;
    else if (mode === 'replace') {
      const headers = this.headerRows();
      if (this.editing || Object.keys(headers).length > 0) fields.headers = headers;
    }
    const text = byId<HTMLTextAreaElement>('endpoint-filter').value.trim();
    const current = filterText(this.editing?.filter);
    if (!text) {
      if (current) fields.filter = null;
    } else {
      let filter: unknown;
      try {
        filter = JSON.parse(text);
      } catch (error) {
        return {
          fault: `the filter is not JSON (${error instanceof Error ? error.message : String(error)})`,
        };
      }
      if (JSON.stringify(filter) !== current) fields.filter = filter;
    }
    return { fields };
  }

  private async save(): Promise<void> {
    clearError();
    this.clearFormError();
    const url = fieldValue('endpoint-url');
    const types = parseTypes(fieldValue('endpoint-types'));
    const description = fieldValue('endpoint-description');
    const options = this.deliveryOptions();
    if ('fault' in options) {
      this.showFormError('invalid_filter', options.fault, null);
      return;
    }
    const save = byId<HTMLButtonElement>('endpoint-save');
    save.disabled = true;
    const editing = this.editing;
    try {
      if (editing) {
        await this.options.api.request('PATCH', `/endpoints/${seg(editing.id)}`, {
          url,
          eventTypes: types.length > 0 ? types : null,
          description: description || null,
          ...options.fields,
        });
        notify(`Saved ${url}.`);
      } else {
        const { body } = await this.options.api.post<WithSecret>('/endpoints', {
          url,
          ...(types.length > 0 ? { eventTypes: types } : {}),
          ...(description ? { description } : {}),
          ...this.options.createFields?.(),
          ...options.fields,
        });
        this.showSecret(`of the new endpoint ${url}`, body.secret);
        notify(`Added ${url}.`);
      }
      this.close();
      await this.options.saved();
    } catch (error) {
      // What the API refused in the form's content is shown in the form; the rest as the page does.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
        this.showFormError(error.code, error.message, error.trackingId);
      } else {
        this.options.fail(editing ? 'Could not save the endpoint' : 'Could not add the endpoint', error);
      }
    } finally {
      save.disabled = false;
    }
  }

  /** The refusal inside the form, and the field it names marked invalid. */
  private showFormError(code: string, message: string, trackingId: string | null): void {
    const box = byId('endpoint-form-error');
    box.replaceChildren(
      h('strong', { text: 'Not saved: ' }),
      h('span', { class: 'code mono', text: code }),
      h('span', { text: message }),
      ...(trackingId ? [h('span', { class: 'tracking', text: `Trackingid ${trackingId}` })] : []),
    );
    box.hidden = false;
    if (code === 'invalid_filter') byId('endpoint-filter').setAttribute('aria-invalid', 'true');
    // `header "X-Name" cannot be set: ...` names the header: mark its row.
    const named = /header "([^"]*)"/.exec(message)?.[1];
    for (const input of byId('header-rows').querySelectorAll<HTMLInputElement>('.header-name')) {
      if (code === 'invalid_header' && (named === undefined || input.value.trim() === named)) {
        input.setAttribute('aria-invalid', 'true');
      }
    }
  }

  private clearFormError(): void {
    const box = byId('endpoint-form-error');
    box.hidden = true;
    box.replaceChildren();
    for (const field of byId('endpoint-form').querySelectorAll('[aria-invalid]')) {
      field.removeAttribute('aria-invalid');
    }
  }

  /** Shows a secret until it is dismissed; it is kept nowhere, so it is shown this once. */
  showSecret(context: string, secret: string): void {
    byId('secret-context').textContent = `New signing secret ${context}.`;
    byId('secret-value').textContent = secret;
    byId('secret-box').hidden = false;
  }

  dismissSecret(): void {
    byId('secret-value').textContent = '';
    byId('secret-context').textContent = '';
    byId('secret-box').hidden = true;
  }
}
